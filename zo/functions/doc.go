// Package functions provides test objectives with known minima and saddle
// points, for testing and benchmarking the zeroth-order optimizers of
// package zo.
//
// Every objective implements Function: its value, and its exact gradient
// and Hessian. The optimizers only ever see values (through a zo.Oracle);
// the derivatives are for tests, which check a reported point against the
// true gradient norm and the true smallest Hessian eigenvalue (see
// Spectrum). Each type documents its minima, its saddle points, the optimal
// value f*, the standard starting point and where it comes from.
//
// The objectives are those of the project's problem list:
//
//   - SeparableQuartic, RotatedQuartic: strict saddle at the origin with k
//     directions of negative curvature; the rotated variant defeats methods
//     that exploit axis alignment.
//   - IsotropicQuartic: an indefinite quadratic plus a quartic norm term.
//   - GrowingSaddle: the growing-dimension saddle of the random-search
//     experiments of Lucchi, Orvieto & Solomou, "On the Second-order
//     Convergence Properties of Random Search Methods", NeurIPS 2021.
//   - Rosenbrock: the extended Rosenbrock valley.
//   - Octopus: the chain of D strict saddles of Du et al. (2017), on which
//     gradient descent takes exponential time; it is defined on a
//     restricted domain (see Octopus.Domain) and returns +Inf outside it.
//   - MatrixFactorization: symmetric low-rank factorisation ¼‖UUᵀ − M‖²_F,
//     strict saddle at U = 0, all local minima global.
//   - PhaseRetrieval: least squares on squared Gaussian measurements,
//     strict saddle at 0, minima ±x*.
//   - Rastrigin: a multimodal stress test with 11^D local minima in its
//     search box.
//
// Noisy turns any Function into a family of component functions
// F(x; seed) = f(x) + σ·n(x, seed), where n is a smooth random field that
// depends deterministically on the seed: the same seed at nearby points
// gives nearby values, as a simulator run with common random numbers does.
// Its Eval method has the signature of zo.Func.
//
// Randomness (rotations, ground truths, sensing vectors, noise fields) is
// drawn from an injected *rand.Rand or from a PCG generator seeded by the
// caller's seed, never from a global source, so every objective is
// reproducible.
//
// References:
//   - Ge, Huang, Jin & Yuan, "Escaping From Saddle Points — Online
//     Stochastic Gradient for Tensor Decomposition", COLT 2015 (strict
//     saddles).
//   - Lucchi, Orvieto & Solomou, "On the Second-order Convergence
//     Properties of Random Search Methods", NeurIPS 2021.
//   - Zhang, Xiong & Gu, "Zeroth-Order Negative Curvature Finding: Escaping
//     Saddle Points without Gradients", NeurIPS 2022.
//   - Du, Jin, Lee, Jordan, Póczos & Singh, "Gradient Descent Can Take
//     Exponential Time to Escape Saddle Points", NeurIPS 2017 (Octopus).
//   - Ge, Jin & Zheng, "No Spurious Local Minima in Nonconvex Low Rank
//     Problems: A Unified Geometric Analysis", ICML 2017.
//   - Sun, Qu & Wright, "A Geometric Analysis of Phase Retrieval",
//     Foundations of Computational Mathematics 18 (2018).
//   - Rosenbrock, "An Automatic Method for Finding the Greatest or Least
//     Value of a Function", The Computer Journal 3 (1960).
//   - Rahimi & Recht, "Random Features for Large-Scale Kernel Machines",
//     NIPS 2007 (random Fourier features, used by Noisy).
//   - Mezzadri, "How to Generate Random Matrices from the Classical
//     Compact Groups", Notices of the AMS 54 (2007) (random orthogonal
//     matrices by QR with a sign correction).
//   - Mühlenbein, Schomisch & Born, "The Parallel Genetic Algorithm as
//     Function Optimizer", Parallel Computing 17 (1991) (Rastrigin).
package functions // import "github.com/zotune/zotune/zo/functions"
