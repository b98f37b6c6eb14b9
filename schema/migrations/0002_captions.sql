-- ConceptRegistry catalog, migration 0002: caption sets with CLIP text embeddings, caption encoders,
-- regularization sets and their Gram matrices (CLI.md "Captions and regularization sets").
-- Append-only: never edit after it has landed; add 0003_… instead.

-- A CLIP text model with projection (Hugging Face layout) used to embed captions and queries.
CREATE TABLE caption_encoder (
    id             INTEGER PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    source_path    TEXT NOT NULL,
    hidden_size    INTEGER NOT NULL CHECK (hidden_size > 0),
    projection_dim INTEGER NOT NULL CHECK (projection_dim > 0),
    created_at     TEXT NOT NULL
);

-- The encoder's files (config.json, model.safetensors, tokenizer files), by relative path.
CREATE TABLE caption_encoder_file (
    encoder_id INTEGER NOT NULL REFERENCES caption_encoder(id) ON DELETE CASCADE,
    path       TEXT NOT NULL,
    blob       TEXT NOT NULL REFERENCES blob(sha256),
    PRIMARY KEY (encoder_id, path)
);

-- A named set of captions whose embeddings share one width.
CREATE TABLE caption_set (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    dimension  INTEGER NOT NULL CHECK (dimension > 0),     -- embedding width (the encoder's projection_dim)
    encoder    TEXT,                                       -- encoder that computed or validated the embeddings
    revision   INTEGER NOT NULL DEFAULT 0,                 -- bumped by every import: invalidates the scan index
    created_at TEXT NOT NULL
);

-- One caption and its L2-normalised embedding (fp16, little-endian, `dimension` values).
CREATE TABLE caption (
    id        INTEGER PRIMARY KEY,
    set_id    INTEGER NOT NULL REFERENCES caption_set(id) ON DELETE CASCADE,
    caption   TEXT NOT NULL,
    url       TEXT NOT NULL DEFAULT '',
    path      TEXT NOT NULL DEFAULT '',
    embedding BLOB NOT NULL,
    UNIQUE (set_id, caption)
);

-- Full-text search over captions (external content: rowid = caption.id).
CREATE VIRTUAL TABLE caption_search USING fts5(caption, content = 'caption', content_rowid = 'id', tokenize = 'unicode61');
CREATE TRIGGER caption_search_insert AFTER INSERT ON caption BEGIN
    INSERT INTO caption_search (rowid, caption) VALUES (new.id, new.caption);
END;
CREATE TRIGGER caption_search_delete AFTER DELETE ON caption BEGIN
    INSERT INTO caption_search (caption_search, rowid, caption) VALUES ('delete', old.id, old.caption);
END;

-- A regularization set: the captions chosen for a concept's prior (retrieved, listed, or shipped).
CREATE TABLE regset (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    source     TEXT NOT NULL CHECK (source IN ('query', 'file', 'default')),
    created_at TEXT NOT NULL
);

CREATE TABLE regset_caption (
    regset_id  INTEGER NOT NULL REFERENCES regset(id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    caption    TEXT NOT NULL,
    url        TEXT NOT NULL DEFAULT '',
    path       TEXT NOT NULL DEFAULT '',
    similarity REAL,                                        -- retrieval similarity (NULL when listed)
    PRIMARY KEY (regset_id, position)
);

-- Σ = Cregᵀ Creg (DESIGN.md §1) of a regset for one base's text encoder: d × d Float64,
-- little-endian, row-major, stored inline; `feature_rows` = rows of Creg.
CREATE TABLE regset_gram (
    regset_id    INTEGER NOT NULL REFERENCES regset(id) ON DELETE CASCADE,
    base_id      INTEGER NOT NULL REFERENCES base_model(id) ON DELETE CASCADE,
    dimension    INTEGER NOT NULL CHECK (dimension > 0),
    feature_rows INTEGER NOT NULL CHECK (feature_rows >= 0),
    gram         BLOB NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (regset_id, base_id)
);
