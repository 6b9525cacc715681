package functions

import (
	"math"
	"math/rand/v2"
)

// DefaultFeatures is the number of random Fourier features Noisy uses when
// its Features field is zero.
const DefaultFeatures = 16

// noiseStream is the PCG stream (second seed word) of the noise fields;
// the first word is the caller's seed.
const noiseStream = 0x6e6f697365 // "noise"

// Noisy is a family of component functions around a Function F:
//
//	F(x; seed) = f(x) + σ·n(x, seed),
//
// where n is a random Fourier feature sum (Rahimi & Recht 2007)
//
//	n(x, seed) = √(2/K) Σ_{k=1}^{K} cos(w_kᵀx + b_k),
//
// with w_k ~ N(0, I/ℓ²) and b_k uniform on [0, 2π) drawn from a PCG
// generator seeded by seed. For a fixed seed n is a smooth (analytic)
// function of x, so the same seed at nearby points gives nearby values:
// the common-random-numbers setting of a simulator. Over seeds, n(x, ·)
// has mean 0 and variance 1 at every x (each feature's phase is uniform),
// so E_seed F(x; seed) = f(x) and σ is the noise's standard deviation;
// the average over a finite set of seeds is f plus a smooth field of
// variance σ²/(number of seeds). The field's correlation length is about ℓ.
//
// The features are regenerated from the seed on every call rather than
// cached, so Noisy is safe for concurrent use and holds no memory per
// seed; an evaluation costs O(K·d) normal draws.
type Noisy struct {
	F           Function
	Sigma       float64 // noise standard deviation σ
	Features    int     // number of features K; 0 means DefaultFeatures
	LengthScale float64 // length scale ℓ; 0 means 1
}

// Dim returns F.Dim().
func (n Noisy) Dim() int { return n.F.Dim() }

// Eval returns F(x; seed) = f(x) + σ·n(x, seed). It has the signature of
// zo.Func, so zo.Func(noisy.Eval) is an in-memory oracle.
func (n Noisy) Eval(x []float64, seed int) float64 {
	f := n.F.Func(x)
	if n.Sigma == 0 {
		return f
	}
	return f + n.Sigma*n.Noise(x, seed)
}

// Noise returns the unscaled noise field n(x, seed), of variance 1 over
// seeds.
func (n Noisy) Noise(x []float64, seed int) float64 {
	k := n.Features
	if k == 0 {
		k = DefaultFeatures
	}
	if k < 0 {
		panic("functions: Noisy.Features must not be negative")
	}
	ell := n.LengthScale
	if ell == 0 {
		ell = 1
	}
	rng := rand.New(rand.NewPCG(uint64(seed), noiseStream))
	var sum float64
	for range k {
		b := 2 * math.Pi * rng.Float64()
		var dot float64
		for _, xi := range x {
			dot += rng.NormFloat64() * xi
		}
		sum += math.Cos(dot/ell + b)
	}
	return math.Sqrt(2/float64(k)) * sum
}
