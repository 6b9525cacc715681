// Package negcurv finds directions of negative curvature from function
// values alone: finders that implement zo.Finder, built on the
// zeroth-order Hessian-vector products of package zo (zo.HVP, differences
// of coordinate-wise gradient estimates), which the optimizers' own
// curvature estimates use too.
//
// A finder answers, at a point x with a small gradient, either a unit
// direction v with vᵀ∇²f(x)v ≤ −δ/2, or "none", which certifies with high
// probability that λ_min(∇²f(x)) ≥ −δ (the contract of Neon2, Allen-Zhu &
// Li 2018, used by ZO-NCF, Zhang, Xiong & Gu, NeurIPS 2022). It always
// reports its curvature estimate and the queries it spent. The finders:
//
//   - Online: ZO-NCF-Online, Oja's iteration on displacements with a fresh
//     sample per step; the finder for stochastic objectives.
//   - Deterministic: ZO-NCF-Deterministic, the Chebyshev-accelerated power
//     method, Θ(√(L/δ)·log(d/p)) products.
//   - Dimer: the rotation of Dimer-Enhanced Optimization, a power method
//     whose shift follows the Rayleigh quotient, with a warm direction
//     kept from call to call.
//   - Power: the plain power method on I − H/L, the baseline.
//   - Lanczos: Lanczos with full reorthogonalisation; with Adaptive, it
//     stops on convergence or at the step count of its certificate, and is
//     the cheapest of them (see docs/benchmarks.md).
//
// A none certifies only when its estimate is a number ≥ −δ; the
// optimizers of package zo check that, and call the finder again from a
// fresh random start when it is NaN or below −δ. A failed evaluation is
// never read as an absence of curvature: the points of a curvature probe
// whose evaluation failed are sent again, up to three sends in all, and
// if the probe still fails, a call that was checking a candidate
// direction (its estimate ≤ −δ/2) answers none with the estimate NaN,
// which certifies nothing.
//
// Every finder searches the free coordinates only (the face of the box x
// lies on) and never queries outside the box; at a corner, along a
// direction that leaves the box both ways, products and probes split it
// coordinate-wise (see zo.HVP). A direction is returned only after a direct
// second difference of f along it confirms the curvature. The zero value
// of each finder is its practical default: no setting needs L, ρ or the
// noise level. L is estimated (by a few Lanczos steps), ρ is not needed
// (products are probed at a fixed small fraction of the box), and Online
// estimates the noise of its products on a stochastic objective; the
// theory constants (L, step, T, p) remain settings. The settings every
// finder has (p, the probe length, central products, the report) are
// Settings, which each finder embeds. What a call estimated is passed to
// Settings.Report as Estimates, for the caller to log.
//
// No finder forms a d×d matrix: memory is O(d) (O(k·d) for k Lanczos
// vectors), plus the query points of one gradient batch, which zo.HVP
// caps (zo.HVP.MaxBatch).
package negcurv
