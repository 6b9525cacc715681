package functions

import (
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// Function is a test objective on ℝ^d with exact derivatives.
type Function interface {
	// Dim returns the dimension d of the domain.
	Dim() int
	// Func returns f(x). It panics if len(x) != Dim().
	Func(x []float64) float64
	// Grad writes ∇f(x) into grad. It panics if len(x) or len(grad)
	// differs from Dim().
	Grad(grad, x []float64)
	// Hess writes ∇²f(x) into dst, which the caller allocates as
	// mat.NewSymDense(d, nil). It panics if len(x) or the size of dst
	// differs from Dim().
	Hess(dst *mat.SymDense, x []float64)
}

const (
	badInputDim = "functions: wrong input dimension"
	badGradDim  = "functions: wrong gradient dimension"
	badHessDim  = "functions: wrong Hessian dimension"
)

func checkX(d int, x []float64) {
	if len(x) != d {
		panic(badInputDim)
	}
}

func checkGrad(d int, grad, x []float64) {
	checkX(d, x)
	if len(grad) != d {
		panic(badGradDim)
	}
}

func checkHess(d int, dst *mat.SymDense, x []float64) {
	checkX(d, x)
	if dst.SymmetricDim() != d {
		panic(badHessDim)
	}
}

// Spectrum returns the eigenvalues of the symmetric matrix h in ascending
// order; the first is λ_min. It panics if the eigendecomposition fails.
func Spectrum(h *mat.SymDense) []float64 {
	var eig mat.EigenSym
	if !eig.Factorize(h, false) {
		panic("functions: eigendecomposition failed")
	}
	return eig.Values(nil)
}

// randomOrthogonal returns a d×d orthogonal matrix distributed uniformly
// (Haar) on O(d): the Q factor of a matrix of independent standard normal
// entries, drawn row by row from rng, with the columns' signs chosen so
// that R has a positive diagonal (Mezzadri 2007). This Q is the one
// modified Gram–Schmidt produces from the columns of the same matrix.
func randomOrthogonal(d int, rng *rand.Rand) *mat.Dense {
	data := make([]float64, d*d)
	for i := range data {
		data[i] = rng.NormFloat64()
	}
	var qr mat.QR
	qr.Factorize(mat.NewDense(d, d, data))
	var q, r mat.Dense
	qr.QTo(&q)
	qr.RTo(&r)
	for j := range d {
		if r.At(j, j) < 0 {
			for i := range d {
				q.Set(i, j, -q.At(i, j))
			}
		}
	}
	return &q
}

// mulQ returns Q·x.
func mulQ(q *mat.Dense, x []float64) []float64 {
	d, _ := q.Dims()
	z := make([]float64, d)
	mat.NewVecDense(d, z).MulVec(q, mat.NewVecDense(len(x), x))
	return z
}

// mulQT writes Qᵀ·z into dst.
func mulQT(dst []float64, q *mat.Dense, z []float64) {
	_, d := q.Dims()
	mat.NewVecDense(d, dst).MulVec(q.T(), mat.NewVecDense(len(z), z))
}

// congruence writes Qᵀ·diag(s)·Q into dst.
func congruence(dst *mat.SymDense, q *mat.Dense, s []float64) {
	var sq mat.Dense
	sq.CloneFrom(q)
	d, _ := q.Dims()
	for i := range d {
		row := sq.RawRowView(i)
		for j := range row {
			row[j] *= s[i]
		}
	}
	var h mat.Dense
	h.Mul(q.T(), &sq)
	for i := range d {
		for j := i; j < d; j++ {
			dst.SetSym(i, j, 0.5*(h.At(i, j)+h.At(j, i)))
		}
	}
}
