package main

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func mustFly(t *testing.T, s sim, l launch, seed int64) outcome {
	t.Helper()
	o, err := s.fly(l, seed)
	if err != nil {
		t.Fatalf("%+v seed %d: %v", l, seed, err)
	}
	return o
}

// TestVacuum checks the integrator and the landing interpolation against
// the closed form: without air, range v² sin 2θ / g and flight time
// 2v sin θ / g from the ground.
func TestVacuum(t *testing.T) {
	s := sim{targetX: 0, targetY: 0, dt: 1e-2}
	for _, l := range []launch{{angle: 45, speed: 30, azimuth: 0}, {angle: 20, speed: 50, azimuth: 30}, {angle: 70, speed: 12, azimuth: -45}} {
		o := mustFly(t, s, l, 1)
		el, az := l.angle*math.Pi/180, l.azimuth*math.Pi/180
		r := l.speed * l.speed * math.Sin(2*el) / gravity
		tf := 2 * l.speed * math.Sin(el) / gravity
		if math.Abs(o.impactX-r*math.Cos(az)) > 1e-9 || math.Abs(o.impactY-r*math.Sin(az)) > 1e-9 {
			t.Errorf("%+v: landed at (%v, %v), want (%v, %v)", l, o.impactX, o.impactY, r*math.Cos(az), r*math.Sin(az))
		}
		if math.Abs(o.flightTime-tf) > 1e-9 {
			t.Errorf("%+v: flight time %v, want %v", l, o.flightTime, tf)
		}
		if math.Abs(o.miss-r) > 1e-9 {
			t.Errorf("%+v: miss %v, want %v", l, o.miss, r)
		}
	}
}

func TestSeeds(t *testing.T) {
	s := defaultSim()
	l := launch{angle: 40, speed: 45, azimuth: 8}
	a := mustFly(t, s, l, 1)
	if b := mustFly(t, s, l, 1); a != b {
		t.Errorf("same seed: %+v then %+v", a, b)
	}
	if b := mustFly(t, s, l, 2); a.value == b.value {
		t.Errorf("seeds 1 and 2 give the same value %v", a.value)
	}
	s.gust = 0
	if a, b := mustFly(t, s, l, 1), mustFly(t, s, l, 2); a != b {
		t.Errorf("steady wind: seeds 1 and 2 give %+v and %+v", a, b)
	}
}

// aim corrects a launch for seed by fixed-point iteration: turn by the
// bearing error, scale the speed by the range error.
func aim(t *testing.T, s sim, l launch, seed int64) launch {
	t.Helper()
	for range 30 {
		o := mustFly(t, s, l, seed)
		l.azimuth += (math.Atan2(s.targetY, s.targetX) - math.Atan2(o.impactY, o.impactX)) * 180 / math.Pi
		l.speed *= math.Sqrt(math.Hypot(s.targetX, s.targetY) / math.Hypot(o.impactX, o.impactY))
	}
	return l
}

func TestGoodShotBeatsBadShot(t *testing.T) {
	s := defaultSim()
	for _, seed := range []int64{1, 2, 3} {
		good := aim(t, s, launch{angle: 40, speed: 40, azimuth: 0}, seed)
		g := mustFly(t, s, good, seed)
		if g.miss > 1e-3 {
			t.Errorf("seed %d: aimed shot %+v misses by %v m", seed, good, g.miss)
		}
		if good.speed < 10 || good.speed > 80 || math.Abs(good.azimuth) > 30 {
			t.Errorf("seed %d: aimed shot %+v outside the documented ranges", seed, good)
		}
		b := mustFly(t, s, launch{angle: 10, speed: 20, azimuth: -20}, seed)
		if b.miss < 50 || b.value <= g.value {
			t.Errorf("seed %d: bad shot misses by %v (value %v), aimed by %v (value %v)", seed, b.miss, b.value, g.miss, g.value)
		}
		// The aimed shot's wind is not another seed's: it misses there.
		if o := mustFly(t, s, good, seed+10); o.miss < 1e-2 {
			t.Errorf("seed %d: aimed shot also hits with seed %d (miss %v)", seed, seed+10, o.miss)
		}
	}
}

// TestSmooth checks that central differences at two step sizes agree, as
// they do for a smooth function of the parameters.
func TestSmooth(t *testing.T) {
	s := defaultSim()
	base := launch{angle: 40, speed: 45, azimuth: 8}
	for i, name := range []string{"angle", "speed", "azimuth"} {
		deriv := func(h float64) float64 {
			p, m := base, base
			switch i {
			case 0:
				p.angle += h
				m.angle -= h
			case 1:
				p.speed += h
				m.speed -= h
			case 2:
				p.azimuth += h
				m.azimuth -= h
			}
			return (mustFly(t, s, p, 1).value - mustFly(t, s, m, 1).value) / (2 * h)
		}
		d1, d2 := deriv(1e-2), deriv(1e-3)
		if math.Abs(d1-d2) > 1e-3*math.Max(1, math.Abs(d2)) {
			t.Errorf("∂value/∂%s: %v (h=1e-2) vs %v (h=1e-3)", name, d1, d2)
		}
	}
}

func TestNoLanding(t *testing.T) {
	s := sim{dt: 1e-2}
	if _, err := s.fly(launch{angle: 90, speed: 1000}, 1); err == nil {
		t.Error("a 1000 m/s vertical shot in vacuum landed within the time limit")
	}
}

// runSim runs the program with the given flags, stdin and environment.
func runSim(t *testing.T, args []string, stdin string, env map[string]string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errOut, func(k string) string { return env[k] })
	return code, out.String(), errOut.String()
}

type answer struct {
	ID         string   `json:"id"`
	Value      *float64 `json:"value"`
	Miss       float64  `json:"miss"`
	FlightTime float64  `json:"flight_time"`
}

func parseAnswer(t *testing.T, line string) answer {
	t.Helper()
	var a answer
	if err := json.Unmarshal([]byte(line), &a); err != nil || a.Value == nil {
		t.Fatalf("%q is not {\"value\": number, ...}: %v", line, err)
	}
	return a
}

func TestRunExec(t *testing.T) {
	req := `{"study":"s","trial":"1","seed":7,"params":{"angle":40,"speed":45,"azimuth":8}}`
	want := mustFly(t, defaultSim(), launch{angle: 40, speed: 45, azimuth: 8}, 7)

	check := func(name string, args []string, stdin string, env map[string]string) {
		t.Helper()
		code, out, errOut := runSim(t, args, stdin, env)
		if code != 0 {
			t.Fatalf("%s: exit %d, stderr %q", name, code, errOut)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		a := parseAnswer(t, lines[len(lines)-1])
		if *a.Value != want.value || a.Miss != want.miss || a.FlightTime != want.flightTime {
			t.Errorf("%s: answer %q, want %+v", name, out, want)
		}
	}
	check("stdin", nil, req, nil)
	check("env params", nil, "", map[string]string{
		"ZOTUNE_PARAMS": `{"angle":40,"speed":45,"azimuth":8}`, "ZOTUNE_SEED": "7"})
	check("env request", nil, "\n", map[string]string{"ZOTUNE_PARAMS": req})
	check("seed flag", []string{"-seed", "7"}, strings.Replace(req, `"seed":7`, `"seed":1`, 1), nil)

	// A flag changes the result.
	code, out, _ := runSim(t, []string{"-target-x", "100"}, req, nil)
	if code != 0 || *parseAnswer(t, strings.TrimSpace(out)).Value == want.value {
		t.Errorf("-target-x 100: exit %d, answer %q unchanged", code, out)
	}

	for _, c := range []struct {
		name  string
		args  []string
		stdin string
	}{
		{"bad json", nil, `{"params": [1]}`},
		{"missing param", nil, `{"params":{"angle":40,"speed":45}}`},
		{"unknown param", nil, `{"params":{"angle":40,"speed":45,"azimuth":0,"spin":3}}`},
		{"negative speed", nil, `{"params":{"angle":40,"speed":-1,"azimuth":0}}`},
		{"no input", nil, ""},
		{"bad flag", []string{"-wind"}, req},
		{"bad dt", []string{"-dt", "0"}, req},
		{"negative drag", []string{"-drag", "-1"}, req},
	} {
		code, out, errOut := runSim(t, c.args, c.stdin, nil)
		if code != 2 || out != "" || errOut == "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 2, a message, no output", c.name, code, out, errOut)
		}
	}

	// A failed simulation exits 1.
	code, out, errOut := runSim(t, []string{"-drag", "0", "-dt", "0.01"}, `{"params":{"angle":90,"speed":1000,"azimuth":0}}`, nil)
	if code != 1 || out != "" || !strings.Contains(errOut, "did not land") {
		t.Errorf("no landing: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestRunStdio(t *testing.T) {
	s := defaultSim()
	launches := []launch{{40, 45, 8}, {30, 50, 0}, {40, 45, 8}}
	in := `{"id":"demo/0","seed":1,"params":{"angle":40,"speed":45,"azimuth":8}}
{"id":"demo/1","seed":1,"params":{"angle":30,"speed":50,"azimuth":0}}

{"id":"demo/\"2\"","seed":2,"params":{"angle":40,"speed":45,"azimuth":8}}`
	ids := []string{"demo/0", "demo/1", `demo/"2"`}
	code, out, errOut := runSim(t, []string{"-stdio"}, in, nil)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(launches) {
		t.Fatalf("%d answers for %d requests: %q", len(lines), len(launches), out)
	}
	for i, l := range launches {
		seed := int64(1)
		if i == 2 {
			seed = 2
		}
		a := parseAnswer(t, lines[i])
		if got, want := *a.Value, mustFly(t, s, l, seed).value; got != want {
			t.Errorf("request %d: %v, want %v", i, got, want)
		}
		if a.ID != ids[i] {
			t.Errorf("answer %d has id %q, want its request's, %q", i, a.ID, ids[i])
		}
	}

	code, out, errOut = runSim(t, []string{"-stdio"}, `{"seed":1,"params":{"angle":40,"speed":45,"azimuth":8}}`+"\nnot json\n", nil)
	if code != 2 || strings.Count(out, "\n") != 1 || errOut == "" {
		t.Errorf("bad request: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
