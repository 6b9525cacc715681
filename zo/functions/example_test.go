package functions_test

import (
	"fmt"
	"math/rand/v2"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/zotune/zotune/zo/functions"
)

func ExampleRotatedQuartic() {
	f := functions.NewRotatedQuartic(4, 1, rand.New(rand.NewPCG(1, 0)))
	d := f.Dim()
	grad := make([]float64, d)
	hess := mat.NewSymDense(d, nil)

	x := f.Start() // the saddle
	f.Grad(grad, x)
	f.Hess(hess, x)
	fmt.Printf("saddle:  f = %.4f, |grad| = %.4f, lambda_min = %.4f\n",
		f.Func(x), floats.Norm(grad, 2), functions.Spectrum(hess)[0])

	x = f.Minimizer()
	f.Grad(grad, x)
	f.Hess(hess, x)
	fmt.Printf("minimum: f = %.4f, |grad| = %.4f, lambda_min = %.4f, f* = %.4f\n",
		f.Func(x), floats.Norm(grad, 2), functions.Spectrum(hess)[0], f.Min())

	// Output:
	// saddle:  f = 0.0000, |grad| = 0.0000, lambda_min = -1.0000
	// minimum: f = -0.2500, |grad| = 0.0000, lambda_min = 1.0000, f* = -0.2500
}

func ExampleNoisy() {
	f := functions.Noisy{F: functions.Rosenbrock{D: 2}, Sigma: 0.01}
	x := []float64{1, 1}
	a, b := f.Eval(x, 1), f.Eval(x, 2)
	fmt.Println("same seed, same value:", f.Eval(x, 1) == a)
	fmt.Println("seeds differ:", a != b)
	fmt.Printf("within a few sigma of f*: %v\n", a > -0.05 && a < 0.05)
	// Output:
	// same seed, same value: true
	// seeds differ: true
	// within a few sigma of f*: true
}
