-- ConceptRegistry catalog, migration 0001: blobs, base models, concepts and versions.
-- Append-only: never edit after it has landed; add 0002_… instead.

-- Content-addressed blobs (files under blobs/, named by SHA-256 of the uncompressed bytes).
CREATE TABLE blob (
    sha256      TEXT PRIMARY KEY NOT NULL CHECK (length(sha256) = 64),
    size        INTEGER NOT NULL CHECK (size >= 0),       -- uncompressed bytes
    stored_size INTEGER NOT NULL CHECK (stored_size >= 0) -- zstd bytes on disk
);

-- A base model: every tensor kept once (as a blob), plus its configuration and tokenizer files.
CREATE TABLE base_model (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    architecture  TEXT NOT NULL CHECK (architecture IN ('sd1', 'sd2', 'sdxl')),
    source_path   TEXT NOT NULL,
    source_format TEXT NOT NULL CHECK (source_format IN ('diffusers', 'compvis')),
    context_dim   INTEGER NOT NULL,                       -- d: text feature width of cross-attention
    bytes_total   INTEGER NOT NULL,
    bytes_new     INTEGER NOT NULL,
    created_at    TEXT NOT NULL
);

-- Every tensor of a base, under its name in the source (`component` says which model it belongs to).
CREATE TABLE base_tensor (
    base_id   INTEGER NOT NULL REFERENCES base_model(id) ON DELETE CASCADE,
    component TEXT NOT NULL,                              -- unet | text_encoder | vae | other
    name      TEXT NOT NULL,
    dtype     TEXT NOT NULL,
    shape     TEXT NOT NULL,                              -- JSON array
    blob      TEXT NOT NULL REFERENCES blob(sha256),
    PRIMARY KEY (base_id, component, name)
);

-- Non-tensor files of a base (configs, tokenizer), by relative path.
CREATE TABLE base_file (
    base_id INTEGER NOT NULL REFERENCES base_model(id) ON DELETE CASCADE,
    path    TEXT NOT NULL,
    blob    TEXT NOT NULL REFERENCES blob(sha256),
    PRIMARY KEY (base_id, path)
);

-- The base's cross-attention layer table (diffusers names), with the tensors holding W0.
CREATE TABLE base_layer (
    base_id      INTEGER NOT NULL REFERENCES base_model(id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    name         TEXT NOT NULL,                           -- e.g. down_blocks.0.attentions.0.transformer_blocks.0.attn2
    out_features INTEGER NOT NULL,                        -- h
    in_features  INTEGER NOT NULL,                        -- d
    key_tensor   TEXT NOT NULL,                           -- base_tensor.name of to_k.weight
    value_tensor TEXT NOT NULL,                           -- base_tensor.name of to_v.weight
    PRIMARY KEY (base_id, name),
    UNIQUE (base_id, position)
);

CREATE TABLE concept (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    base_id    INTEGER NOT NULL REFERENCES base_model(id),
    created_at TEXT NOT NULL
);

-- Immutable versions: rows are inserted once, in one transaction, never updated.
CREATE TABLE concept_version (
    id                 INTEGER PRIMARY KEY,
    concept_id         INTEGER NOT NULL REFERENCES concept(id),
    version            INTEGER NOT NULL CHECK (version >= 1),
    parent_version     INTEGER,
    kind               TEXT NOT NULL CHECK (kind IN ('object', 'style')),
    description        TEXT NOT NULL DEFAULT '',
    source_format      TEXT NOT NULL,
    compression_policy TEXT NOT NULL,
    max_relative_error REAL NOT NULL,
    stored_bytes       INTEGER NOT NULL,
    created_at         TEXT NOT NULL,
    UNIQUE (concept_id, version)
);

CREATE TABLE version_token (
    version_id     INTEGER NOT NULL REFERENCES concept_version(id),
    position       INTEGER NOT NULL,
    token          TEXT NOT NULL,
    category       TEXT NOT NULL DEFAULT '',
    embedding_blob TEXT NOT NULL REFERENCES blob(sha256),  -- F32 vector of length d
    dimension      INTEGER NOT NULL,
    PRIMARY KEY (version_id, position),
    UNIQUE (version_id, token)
);

-- ΔW per layer and projection: dense (one blob, h×d) or low-rank factors up (h×r) · down (r×d),
-- plus, for lossless storage, the W′ entries that W0 + ΔW does not reproduce exactly (patches).
CREATE TABLE version_layer (
    version_id     INTEGER NOT NULL REFERENCES concept_version(id),
    layer          TEXT NOT NULL,
    projection     TEXT NOT NULL CHECK (projection IN ('to_k', 'to_v')),
    storage        TEXT NOT NULL CHECK (storage IN ('dense', 'factors')),
    dtype          TEXT NOT NULL,
    out_features   INTEGER NOT NULL,
    in_features    INTEGER NOT NULL,
    rank           INTEGER NOT NULL,
    relative_error REAL NOT NULL,
    up_blob        TEXT NOT NULL REFERENCES blob(sha256),  -- dense: the whole ΔW
    down_blob      TEXT REFERENCES blob(sha256),           -- factors only
    patch_index_blob TEXT REFERENCES blob(sha256),         -- I64 flat indices into h×d (lossless only)
    patch_value_blob TEXT REFERENCES blob(sha256),         -- F32 W′ values at those indices
    patch_count    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (version_id, layer, projection)
);

CREATE TABLE version_source (
    version_id INTEGER NOT NULL REFERENCES concept_version(id),
    path       TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    PRIMARY KEY (version_id, path)
);

-- Named, movable aliases (tags) of a concept's versions. `latest` is implicit, never stored.
CREATE TABLE alias (
    concept_id INTEGER NOT NULL REFERENCES concept(id),
    alias      TEXT NOT NULL CHECK (alias <> 'latest'),
    version_id INTEGER NOT NULL REFERENCES concept_version(id),
    PRIMARY KEY (concept_id, alias)
);

-- Full-text search over a concept's names, descriptions, categories, tokens and tags (rowid = concept.id).
CREATE VIRTUAL TABLE concept_search USING fts5(name, description, categories, tokens, tags, tokenize = 'unicode61');
