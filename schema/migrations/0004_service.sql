-- ConceptRegistry catalog, migration 0004: the service (`concepts serve`, issue 11): API tokens and
-- the generated files it serves (exports of versions and compositions), kept content-addressed.
-- Append-only: never edit after it has landed; add 0005_… instead.

-- Bearer tokens. Only the SHA-256 of a token is kept; the token itself is shown once, at creation.
CREATE TABLE api_token (
    name         TEXT PRIMARY KEY NOT NULL,
    scope        TEXT NOT NULL CHECK (scope IN ('read', 'write', 'admin')),
    sha256       TEXT NOT NULL UNIQUE CHECK (length(sha256) = 64),
    created_at   TEXT NOT NULL,
    last_used_at TEXT
);

-- The files of one export of a concept version (owner 'version:<concept_version.id>') or a composition
-- (owner 'composition:<composition.id>') in one format, made once and kept as blobs like any other.
CREATE TABLE export_file (
    owner      TEXT NOT NULL,
    format     TEXT NOT NULL CHECK (format IN ('diffusers', 'lora', 'compvis', 'adobe')),
    path       TEXT NOT NULL,                        -- relative path inside the exported folder
    blob       TEXT NOT NULL REFERENCES blob(sha256),
    size       INTEGER NOT NULL CHECK (size >= 0),
    created_at TEXT NOT NULL,
    PRIMARY KEY (owner, format, path)
);
CREATE INDEX export_file_blob ON export_file (blob);
