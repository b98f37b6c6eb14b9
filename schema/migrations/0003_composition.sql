-- ConceptRegistry catalog, migration 0003: merge keys and cached compositions (DESIGN.md §1, issue 6).

-- Per concept version: the target features Cn of all its tokens' target prompts (rows 1…EOS,
-- stacked in token order, F32 rows × d) and one key per row naming the row's causal prefix (the
-- token ids up to that position, learned tokens by their embedding), used to drop duplicates.
CREATE TABLE merge_key (
    version_id    INTEGER PRIMARY KEY NOT NULL REFERENCES concept_version(id),
    rows          INTEGER NOT NULL,
    dimension     INTEGER NOT NULL,
    features_blob TEXT NOT NULL REFERENCES blob(sha256),
    prefix_keys   TEXT NOT NULL,               -- JSON array of hex digests, one per row
    row_tokens    TEXT NOT NULL,               -- JSON array: token position of each row
    created_at    TEXT NOT NULL
);

-- Per version, layer and projection: Cn W′ᵀ (from the weights as stored) and Cn W0ᵀ, F32 rows × h.
CREATE TABLE merge_key_layer (
    version_id  INTEGER NOT NULL REFERENCES merge_key(version_id),
    layer       TEXT NOT NULL,
    projection  TEXT NOT NULL CHECK (projection IN ('to_k', 'to_v')),
    out_features INTEGER NOT NULL,
    target_blob TEXT NOT NULL REFERENCES blob(sha256),
    base_blob   TEXT NOT NULL REFERENCES blob(sha256),
    PRIMARY KEY (version_id, layer, projection)
);

-- Σ of a regularization set for a base, eigendecomposed (Σ = Q Λ Qᵀ, the merge uses the
-- pseudo-inverse on the eigenvalues above 1e-10·λmax), with the drift denominators ‖W0 Cregᵀ‖²
-- per layer: everything a composition needs that depends on the set.
CREATE TABLE compose_basis (
    base_id      INTEGER NOT NULL REFERENCES base_model(id),
    regset       TEXT NOT NULL,
    sigma_sha256 TEXT NOT NULL,                -- of the Σ bytes the factor was computed from
    dimension    INTEGER NOT NULL,
    rank         INTEGER NOT NULL,                         -- eigenpairs kept (λ > 1e-10·λmax)
    eigenvectors_blob TEXT NOT NULL REFERENCES blob(sha256),  -- F64 d × d, columns = Q
    eigenvalues_blob  TEXT NOT NULL REFERENCES blob(sha256),  -- F64 d
    base_energy  TEXT NOT NULL,                -- JSON {"<layer>.to_k": ‖W0 Cregᵀ‖², …}
    created_at   TEXT NOT NULL,
    PRIMARY KEY (base_id, regset)
);

-- A composition, cached under the hash of (base, versions in order, regset, Σ, solver version).
CREATE TABLE composition (
    id          TEXT PRIMARY KEY NOT NULL,
    base_id     INTEGER NOT NULL REFERENCES base_model(id),
    regset      TEXT NOT NULL,
    report      TEXT NOT NULL,                 -- JSON: tokens, targets, residuals, drift, Σ's rank
    created_at  TEXT NOT NULL
);

CREATE TABLE composition_version (
    composition_id TEXT NOT NULL REFERENCES composition(id),
    position       INTEGER NOT NULL,
    version_id     INTEGER NOT NULL REFERENCES concept_version(id),
    PRIMARY KEY (composition_id, position)
);

-- W − W0 = up · down per layer (F32, rank ≤ s).
CREATE TABLE composition_layer (
    composition_id TEXT NOT NULL REFERENCES composition(id),
    layer          TEXT NOT NULL,
    projection     TEXT NOT NULL CHECK (projection IN ('to_k', 'to_v')),
    rank           INTEGER NOT NULL,
    up_blob        TEXT NOT NULL REFERENCES blob(sha256),
    down_blob      TEXT NOT NULL REFERENCES blob(sha256),
    PRIMARY KEY (composition_id, layer, projection)
);

-- The composition's tokens after renaming, with their embeddings.
CREATE TABLE composition_token (
    composition_id TEXT NOT NULL REFERENCES composition(id),
    position       INTEGER NOT NULL,
    reference      TEXT NOT NULL,
    token          TEXT NOT NULL,
    embedding_blob TEXT NOT NULL REFERENCES blob(sha256),
    PRIMARY KEY (composition_id, position)
);
