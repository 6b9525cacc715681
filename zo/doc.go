// Package zo holds zeroth-order optimization: the batch-oracle interface
// every optimizer talks to, gradient estimators built from function values,
// the optimizers themselves, and the second-order stopping certificate.
//
// Optimizers are written like the papers' pseudo-code: sequential code that
// calls Oracle.Evaluate with whole batches of independent queries (a
// coordinate-wise gradient estimate is 2d queries in one batch) and does
// maths on the answers. They never see transport, retries or durability:
// those are oracle layers that wrap one another (see package transport and
// package study).
//
// Coordinates: an optimizer works in a box [Lower, Upper] given by its
// Problem. No query leaves the box: finite-difference stencils near a bound
// are shifted inward, and iterates are projected onto the box after every
// step.
//
// # Methods
//
// NewMethod builds any of them by name (see Methods). Those that find
// negative curvature call a Finder where their (big-batch) gradient
// estimate is at most ε, escape along its direction by a batched two-sign
// search, and stop on its "none":
//
//   - GD ("zo-gd"): coordinate-wise gradient descent with L-BFGS steps.
//   - SGD ("zo-sgd"): mini-batch steps, big-batch checks.
//   - SCSG ("zo-scsg"): epochs of variance-reduced steps around snapshots.
//   - SPIDER ("zo-spider"): recursive estimates, normalised steps.
//
// The baselines escape by their own means: PAGD ("pagd"), ZPSGD ("zpsgd")
// and SSRGD ("zo-ssrgd") by random perturbation and a decrease test, RSPI
// ("rspi") by random search and a finite-difference power iteration.
//
// A none certifies (status converged) only when its estimate λ̂ is a
// number ≥ −δ. Otherwise the finder is called again from a fresh random
// start, up to 3 calls in all; if it still neither certifies nor finds a
// direction, the run ends stopped, uncertified, with λ̂ in the reason.
// RSPI follows the same rule. The perturbation baselines, whose finder
// only confirms their own test, treat such a none like a direction: no
// certificate, they go on with their own escape.
//
// No method needs L, ρ or the noise level: descent steps come from batched
// Armijo line searches, and where a paper fixes η = 1/L the method
// estimates L by power iteration on Hessian-vector products or by secants
// along its path.
//
// Objectives with Settings.Samples > 1 are finite sums: sample i (the
// simulator's seed) is the component f_i. Mini-batches are drawn with the
// method's Rand, and every difference uses the same samples on both sides.
//
// # Estimators
//
// An Estimator draws a Stencil (its random choices fixed), which gives the
// batch of queries for a point and turns the answers into a gradient
// estimate; the same Stencil at two points is a common-random-numbers pair.
// NewEstimator builds them by name: CoordGE ("coord", central), ForwardGE
// ("coord-forward"), RandGE ("rand", sphere directions), GaussGE ("gauss")
// and RandomK ("randomk").
//
// HVP differences CoordGE estimates into Hessian-vector products: the one
// product of the project, used by the curvature finders of package
// negcurv and by the methods here that estimate L.
//
// # Reading the code
//
// types.go holds the vocabulary every method shares (Problem, Settings,
// Outcome, Status, Progress) and the state of one run; driver.go the
// helpers every method's loop is written with (start, iterate, gradient
// batches, moves of the iterate, endings). Each method's file holds its
// type, whose doc comment is the paper's pseudo-code, and its Minimize, a
// loop over those helpers and the shared steps of search.go (line search,
// escape), finder.go (certificate or escape by a Finder), lipschitz.go
// (L̂), epochs.go (variance-reduced epochs) and perturb.go (the
// perturbation test).
package zo
