// Package negcurv finds directions of negative curvature from function
// values alone: zeroth-order Hessian-vector products built from
// coordinate-wise gradient estimates, and finders on top of them that
// implement zo.Finder.
//
// A finder answers, at a point x with a small gradient, either a unit
// direction v with vᵀ∇²f(x)v ≤ −δ/2, or "none", which certifies with high
// probability that λ_min(∇²f(x)) ≥ −δ (the contract of Neon2, Allen-Zhu &
// Li 2018, used by ZO-NCF, Zhang, Xiong & Gu, NeurIPS 2022). It always
// reports its curvature estimate and the queries it spent.
//
// No finder forms a d×d matrix: memory is O(k·d) for k Lanczos vectors.
package negcurv
