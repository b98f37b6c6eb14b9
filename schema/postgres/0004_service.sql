-- ConceptRegistry catalog (PostgreSQL), migration 0004: the service (`concepts serve`): API tokens
-- and the generated files it serves. The translation of schema/migrations/0004_service.sql.
-- Append-only: never edit after it has landed.

-- Bearer tokens. Only the SHA-256 of a token is kept; the token itself is shown once, at creation.
CREATE TABLE api_token (
    name         text PRIMARY KEY NOT NULL,
    scope        text NOT NULL CHECK (scope IN ('read', 'write', 'admin')),
    sha256       text NOT NULL UNIQUE CHECK (length(sha256) = 64),
    created_at   text NOT NULL,
    last_used_at text
);

-- The files of one export of a concept version (owner 'version:<concept_version.id>') or a
-- composition (owner 'composition:<composition.id>') in one format, kept as blobs like any other.
CREATE TABLE export_file (
    owner      text NOT NULL,
    format     text NOT NULL CHECK (format IN ('diffusers', 'lora', 'compvis', 'adobe')),
    path       text NOT NULL,                        -- relative path inside the exported folder
    blob       text NOT NULL REFERENCES blob(sha256),
    size       bigint NOT NULL CHECK (size >= 0),
    created_at text NOT NULL,
    PRIMARY KEY (owner, format, path)
);
CREATE INDEX export_file_blob ON export_file (blob);
