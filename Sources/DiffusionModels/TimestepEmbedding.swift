import Foundation

/// diffusers' `get_timestep_embedding` (Timesteps): with half = dim/2 and
/// f_i = exp(−ln(10000)·i / (half − freq_shift)) in Float32, emb = [sin(t·f), cos(t·f)], or [cos, sin] with
/// `flip_sin_to_cos`. The timestep is first made Float32 (`timesteps[:, None].float()`), as diffusers does.
enum TimestepEmbedding {
    static func sinusoidal(timestep: Double, dim: Int, flipSinToCos: Bool, freqShift: Int) -> [Float] {
        let half = dim / 2
        let t = Float(timestep)
        var out = [Float](repeating: 0, count: dim)
        for i in 0..<half {
            // exponent = -log(10000) * arange(half) (Float32), / (half - shift), then exp, all Float32 as in torch.
            let exponent = Float(-log(10000.0)) * Float(i) / Float(half - freqShift)
            let argument = t * Float(exp(Double(exponent)))
            let s = Float(sin(Double(argument))), c = Float(cos(Double(argument)))
            if flipSinToCos { out[i] = c; out[half + i] = s } else { out[i] = s; out[half + i] = c }
        }
        return out
    }
}
