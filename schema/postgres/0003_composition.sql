-- ConceptRegistry catalog (PostgreSQL), migration 0003: merge keys and cached compositions.
-- The translation of schema/migrations/0003_composition.sql. Append-only: never edit after it has landed.

-- Per concept version: the target features Cn of all its tokens' target prompts (rows 1…EOS,
-- stacked in token order, F32 rows × d) and one key per row naming the row's causal prefix.
CREATE TABLE merge_key (
    version_id    bigint PRIMARY KEY NOT NULL REFERENCES concept_version(id),
    rows          bigint NOT NULL,
    dimension     bigint NOT NULL,
    features_blob text NOT NULL REFERENCES blob(sha256),
    prefix_keys   text NOT NULL,               -- JSON array of hex digests, one per row
    row_tokens    text NOT NULL,               -- JSON array: token position of each row
    created_at    text NOT NULL
);

-- Per version, layer and projection: Cn W′ᵀ (from the weights as stored) and Cn W0ᵀ, F32 rows × h.
CREATE TABLE merge_key_layer (
    version_id   bigint NOT NULL REFERENCES merge_key(version_id),
    layer        text NOT NULL,
    projection   text NOT NULL CHECK (projection IN ('to_k', 'to_v')),
    out_features bigint NOT NULL,
    target_blob  text NOT NULL REFERENCES blob(sha256),
    base_blob    text NOT NULL REFERENCES blob(sha256),
    PRIMARY KEY (version_id, layer, projection)
);

-- Σ of a regularization set for a base, eigendecomposed (Σ = Q Λ Qᵀ), with the drift
-- denominators ‖W0 Cregᵀ‖² per layer.
CREATE TABLE compose_basis (
    base_id           bigint NOT NULL REFERENCES base_model(id),
    regset            text NOT NULL,
    sigma_sha256      text NOT NULL,               -- of the Σ bytes the factor was computed from
    dimension         bigint NOT NULL,
    rank              bigint NOT NULL,             -- eigenpairs kept (λ > 1e-10·λmax)
    eigenvectors_blob text NOT NULL REFERENCES blob(sha256),  -- F64 d × d, columns = Q
    eigenvalues_blob  text NOT NULL REFERENCES blob(sha256),  -- F64 d
    base_energy       text NOT NULL,               -- JSON {"<layer>.to_k": ‖W0 Cregᵀ‖², …}
    created_at        text NOT NULL,
    PRIMARY KEY (base_id, regset)
);

-- A composition, cached under the hash of (base, versions in order, regset, Σ, solver version).
CREATE TABLE composition (
    id         text PRIMARY KEY NOT NULL,
    base_id    bigint NOT NULL REFERENCES base_model(id),
    regset     text NOT NULL,
    report     text NOT NULL,                  -- JSON: tokens, targets, residuals, drift, Σ's rank
    created_at text NOT NULL
);

CREATE TABLE composition_version (
    composition_id text NOT NULL REFERENCES composition(id),
    position       bigint NOT NULL,
    version_id     bigint NOT NULL REFERENCES concept_version(id),
    PRIMARY KEY (composition_id, position)
);

-- W − W0 = up · down per layer (F32, rank ≤ s).
CREATE TABLE composition_layer (
    composition_id text NOT NULL REFERENCES composition(id),
    layer          text NOT NULL,
    projection     text NOT NULL CHECK (projection IN ('to_k', 'to_v')),
    rank           bigint NOT NULL,
    up_blob        text NOT NULL REFERENCES blob(sha256),
    down_blob      text NOT NULL REFERENCES blob(sha256),
    PRIMARY KEY (composition_id, layer, projection)
);

-- The composition's tokens after renaming, with their embeddings.
CREATE TABLE composition_token (
    composition_id text NOT NULL REFERENCES composition(id),
    position       bigint NOT NULL,
    reference      text NOT NULL,
    token          text NOT NULL,
    embedding_blob text NOT NULL REFERENCES blob(sha256),
    PRIMARY KEY (composition_id, position)
);
