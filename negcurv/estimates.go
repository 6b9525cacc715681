package negcurv

// Estimates are what a finder estimated, or was given, in one call: the
// constants its defaults are derived from, so that a caller can log them
// and write them to a summary. When a finder's Settings.Report is set, it
// is called with the Estimates at the end of every call to Find.
// Fields a finder does not use are zero.
type Estimates struct {
	Finder string // "online", "deterministic", "dimer", "power" or "lanczos"

	// L is the gradient Lipschitz constant (the largest |eigenvalue| of
	// the Hessian) the iteration used: the finder's setting, or the
	// largest |Ritz value| of four Lanczos steps from the random start
	// (Lanczos: of its own steps). LEstimated tells which.
	L          float64
	LEstimated bool
	// Step is the step of the iteration: Online's η, Power's 1/L, Dimer's
	// rotation step.
	Step float64
	// Noise is Online's estimate, on a stochastic objective, of the spread
	// ν of a single-sample Hessian-vector product along a unit direction:
	// ν̂² = ‖H_a u − H_b u‖²/2 for two samples a, b. It bounds the step.
	Noise float64

	Iterations    int // products made by the main iteration
	MaxIterations int // the iteration count T used for a none
	// Capped is set when T is below the count that certifies a none with
	// probability 1 − P (the cap of 10000 on a default T, or a smaller
	// MaxIter setting; for Lanczos, fewer steps than its bound needs and
	// the free dimension, unless the Krylov space stopped growing sooner,
	// which makes its Ritz values exact): a none is then weaker than
	// promised.
	Capped bool
	Runs   int // weak runs made (Online)

	Lambda float64 // the curvature estimate returned
	// ProbeStdErr is the standard error of the verification probe over
	// fresh samples (Online on a stochastic objective); 0 otherwise.
	ProbeStdErr float64
	Found       bool // a direction was returned
	Queries     int  // queries spent
}
