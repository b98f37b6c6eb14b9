import CustomDiffusion
import Foundation

/// Everything a composition needs that depends only on (base, regularization set): Σ, its
/// eigendecomposition (with the rank decision) and the drift denominators ‖W0 Cregᵀ‖²_F per layer.
struct ComposeBasis {
    var basis: RegularizationBasis
    var baseEnergy: [String: Double]
    var sigmaSHA256: String
}

extension Store {
    /// Σ of `regset` (nil: the default set) for the base, factored once and cached in `compose_basis`.
    func composeBasis(baseID: Int64, baseName: String, regset: String?) throws -> (name: String, basis: ComposeBasis) {
        let regsetName = regset ?? DefaultRegularizationCaptions.name
        let (sigma, _) = try regularizationGram(set: regset, base: baseName)
        let sigmaBytes = RegularizationFeatures.encode(sigma)
        let sigmaSHA = sigmaBytes.withUnsafeBytes { BlobStore.digest($0) }
        let cached = try catalog.read { connection in
            try connection.fetchOne(ComposeBasisRecord.self, "SELECT * FROM compose_basis WHERE base_id = ? AND regset = ? AND sigma_sha256 = ?",
                                    [baseID, regsetName, sigmaSHA])
        }
        if let cached {
            let r = cached.rank
            let vectors = try values(Double.self, blob: cached.eigenvectorsBlob, count: sigma.rows * r)
            let values = try values(Double.self, blob: cached.eigenvaluesBlob, count: r)
            let energy = try JSONDecoder().decode([String: Double].self, from: Data(cached.baseEnergy.utf8))
            let basis = try RegularizationBasis(sigma: sigma, eigenvectors: Matrix(rows: sigma.rows, cols: r, storage: vectors), eigenvalues: values)
            return (regsetName, ComposeBasis(basis: basis, baseEnergy: energy, sigmaSHA256: sigmaSHA))
        }
        let basis = try RegularizationBasis(sigma: sigma)
        var energy: [String: Double] = [:]
        for layer in try catalog.read({ connection in try Store.baseLayers(baseID: baseID, in: connection) }) {
            for projection in Projection.allCases {
                let w0 = try baseTensor(baseID: baseID, name: projection == .key ? layer.keyTensor : layer.valueTensor).matrix()
                energy[LayerKey(layer: layer.name, projection: projection).description] = CompositionSolver.baseEnergy(w0: w0, sigma: sigma)
            }
        }
        let lock = try StoreLock(store: root, mode: .shared)
        defer { withExtendedLifetime(lock) {} }
        let batch = blobs.batch()
        let vectorsPut = try basis.eigenvectors.storage.withUnsafeBytes { try batch.put($0) }
        let valuesPut = try basis.eigenvalues.withUnsafeBytes { try batch.put($0) }
        try batch.commit()
        let energyJSON = String(decoding: try JSONEncoder().encode(energy), as: UTF8.self)
        try catalog.write { connection in
            try Store.recordBlob(vectorsPut, in: connection)
            try Store.recordBlob(valuesPut, in: connection)
            try connection.insert(ComposeBasisRecord(baseID: baseID, regset: regsetName, sigmaSha256: sigmaSHA, dimension: sigma.rows,
                                                     rank: basis.eigenvalues.count, eigenvectorsBlob: vectorsPut.sha256,
                                                     eigenvaluesBlob: valuesPut.sha256, baseEnergy: energyJSON, createdAt: Timestamp.now()),
                                  into: "compose_basis", """
                ON CONFLICT (base_id, regset) DO UPDATE SET sigma_sha256 = excluded.sigma_sha256, dimension = excluded.dimension,
                    rank = excluded.rank, eigenvectors_blob = excluded.eigenvectors_blob, eigenvalues_blob = excluded.eigenvalues_blob,
                    base_energy = excluded.base_energy, created_at = excluded.created_at
                """)
        }
        return (regsetName, ComposeBasis(basis: basis, baseEnergy: energy, sigmaSHA256: sigmaSHA))
    }
}
