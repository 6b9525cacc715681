package pareto

import (
	"math"
	"math/rand/v2"
)

// minNorm returns the weights α on the simplex (αⱼ ≥ 0, Σαⱼ = 1) of the
// element of least norm in the convex hull of the gradients g, and that
// element d = Σ αⱼ gⱼ. By the min-norm property, gⱼᵀd ≥ ‖d‖² for every j:
// −d decreases every objective at once, and d = 0 exactly at a
// Pareto-stationary point (Désidéri 2012). Two gradients have a closed
// form; more are solved by Frank–Wolfe steps with exact line search on
// the Gram matrix (the MGDA solver of Sener & Koltun, NeurIPS 2018).
func minNorm(g [][]float64) (alpha, d []float64) {
	m := len(g)
	gram := make([][]float64, m)
	for i := range gram {
		gram[i] = make([]float64, m)
		for j := range gram[i] {
			gram[i][j] = dot(g[i], g[j])
		}
	}
	alpha = make([]float64, m)
	if m == 2 {
		alpha[0] = pairWeight(gram[0][0], gram[0][1], gram[1][1])
		alpha[1] = 1 - alpha[0]
	} else {
		frankWolfe(gram, alpha)
	}
	d = make([]float64, len(g[0]))
	for j, a := range alpha {
		for i := range d {
			d[i] += a * g[j][i]
		}
	}
	return alpha, d
}

// pairWeight is the weight a of g₁ minimising ‖a g₁ + (1−a) g₂‖² over
// [0, 1], from g₁ᵀg₁ = aa, g₁ᵀg₂ = ab, g₂ᵀg₂ = bb.
func pairWeight(aa, ab, bb float64) float64 {
	den := aa - 2*ab + bb
	if den <= 0 {
		return 0.5 // equal gradients: any weight
	}
	return math.Min(math.Max((bb-ab)/den, 0), 1)
}

// frankWolfe minimises αᵀGα on the simplex, starting from the uniform
// weights, writing the result into alpha.
func frankWolfe(gram [][]float64, alpha []float64) {
	m := len(alpha)
	for j := range alpha {
		alpha[j] = 1 / float64(m)
	}
	ga := make([]float64, m) // Gα
	for range 250 {
		for i := range ga {
			ga[i] = dot(gram[i], alpha)
		}
		t := 0 // the vertex of steepest descent: argmin (Gα)_t
		for i := range ga {
			if ga[i] < ga[t] {
				t = i
			}
		}
		// Line search from α towards e_t: minimise ‖(1−γ)d + γ g_t‖².
		aGa, aGt, tGt := dot(alpha, ga), ga[t], gram[t][t]
		gamma := pairWeight(tGt, aGt, aGa) // the weight of g_t
		if gamma <= 1e-12 {
			return
		}
		for i := range alpha {
			alpha[i] *= 1 - gamma
		}
		alpha[t] += gamma
	}
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func norm(a []float64) float64 { return math.Sqrt(dot(a, a)) }

// SpreadWeights returns n positive weight vectors on the simplex of m
// objectives, spread over it: for two objectives evenly,
// (k/(n+1), 1 − k/(n+1)) for k = 1…n; for more, uniform draws from rng
// (normalised exponentials: Dirichlet(1, …, 1)).
func SpreadWeights(n, m int, rng *rand.Rand) [][]float64 {
	ws := make([][]float64, n)
	for k := range ws {
		w := make([]float64, m)
		if m == 2 {
			w[0] = float64(k+1) / float64(n+1)
			w[1] = 1 - w[0]
		} else {
			sum := 0.0
			for j := range w {
				w[j] = rng.ExpFloat64() + 1e-12
				sum += w[j]
			}
			for j := range w {
				w[j] /= sum
			}
		}
		ws[k] = w
	}
	return ws
}
