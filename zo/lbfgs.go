package zo

// lbfgs keeps the last m curvature pairs (s, y) = (Δx, Δĝ) and applies the
// L-BFGS inverse-Hessian approximation by the two-loop recursion (Nocedal
// & Wright, "Numerical Optimization", Algorithm 7.4). Pairs without
// positive curvature (sᵀy ≤ 0, as near a saddle) are skipped, so the
// approximation stays positive definite and its direction is a descent
// direction; escaping saddles stays the finder's job.
type lbfgs struct {
	m    int
	s, y [][]float64

	prevX, prevG []float64 // the last point observed and its gradient; nil after a restart
}

// push adds the pair (s, y) if it has positive curvature, dropping the
// oldest beyond m.
func (q *lbfgs) push(s, y []float64) {
	if q.m == 0 {
		return
	}
	sy := dot(s, y)
	if !(sy > 1e-10*norm(s)*norm(y)) {
		return
	}
	q.s = append(q.s, s)
	q.y = append(q.y, y)
	if len(q.s) > q.m {
		q.s, q.y = q.s[1:], q.y[1:]
	}
}

// reset drops the pairs, keeping the last point observed.
func (q *lbfgs) reset() { q.s, q.y = nil, nil }

// observe pushes the pair (x − x₋, g − g₋) from the last point observed,
// if any, and keeps x and its gradient estimate g for the next.
func (q *lbfgs) observe(x, g []float64) {
	if q.prevX != nil {
		q.push(sub(x, q.prevX), sub(g, q.prevG))
	}
	q.prevX, q.prevG = append(q.prevX[:0], x...), append(q.prevG[:0], g...)
}

// restart drops the pairs and the last point: pairs across a saddle say
// nothing about the new basin.
func (q *lbfgs) restart() {
	q.reset()
	q.prevX = nil
}

// direction returns H·g for the current approximation H of the inverse
// Hessian.
func (q *lbfgs) direction(g []float64) []float64 {
	k := len(q.s)
	d := append([]float64(nil), g...)
	alpha := make([]float64, k)
	for i := k - 1; i >= 0; i-- {
		alpha[i] = dot(q.s[i], d) / dot(q.s[i], q.y[i])
		for j := range d {
			d[j] -= alpha[i] * q.y[i][j]
		}
	}
	last := k - 1
	gamma := dot(q.s[last], q.y[last]) / dot(q.y[last], q.y[last])
	for j := range d {
		d[j] *= gamma
	}
	for i := 0; i < k; i++ {
		beta := dot(q.y[i], d) / dot(q.s[i], q.y[i])
		for j := range d {
			d[j] += (alpha[i] - beta) * q.s[i][j]
		}
	}
	return d
}
