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
package zo
