package fhir_test

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host/backend/fhir"
)

// seeded is what seed wrote: one establishment of its own.
type seeded struct {
	Establishment      string
	Service, Other     string // two services
	Practitioners      []string
	Patients           []string
	INS                []string // each patient's test INS (fhir.INSNIRTest)
	ServiceSlots       []string // the slots of Service, in start order then practitioner
	OtherServiceSlots  []string
	FirstServiceSlotAt time.Time
}

// testTransport is the transport of the tests' backends, shared so that
// TestMain can close its connections before stopping the server (node
// waits for open keep-alive connections), tuned as fhir.New's default.
var testTransport = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = fhir.MaxIdleConnsPerHost
	return t
}()

// newBackend returns a Backend on the server at base with the clock now,
// logging warnings to t.
func newBackend(t testing.TB, base string, now func() time.Time, tune ...func(*fhir.Config)) *fhir.Backend {
	t.Helper()
	c := fhir.Config{
		BaseURL:   base,
		Transport: testTransport,
		Now:       now,
		Logger:    slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	for _, f := range tune {
		f(&c)
	}
	b, err := fhir.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// seed writes, with one transaction Bundle, an establishment of its own
// under fresh random ids: an Organization in Europe/Paris, a maternity
// service with two midwives and a diabetology service with one
// diabetologist, their Schedules, free Slots on the days after now (two
// practitioners sharing start times, so that ordering by practitioner
// shows), and patients with test INS.
func seed(t testing.TB, b *fhir.Backend, now time.Time, patients int) seeded {
	t.Helper()
	sfx := strings.ToLower(rand.Text()[:12])
	id := func(kind string, n ...int) string {
		if len(n) > 0 {
			return fmt.Sprintf("%s-%d-%s", kind, n[0], sfx)
		}
		return kind + "-" + sfx
	}
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	s := seeded{
		Establishment: id("org"),
		Service:       id("svc-maternite"),
		Other:         id("svc-diabetologie"),
		Practitioners: []string{id("pr", 1), id("pr", 2), id("pr", 3)},
	}
	var bb bundleBuilder
	bb.put(map[string]any{
		"resourceType": "Organization", "id": s.Establishment, "active": true,
		"name":      "Centre hospitalier " + sfx,
		"extension": []any{map[string]any{"url": fhir.ExtTimeZone, "valueCode": "Europe/Paris"}},
	})
	for _, svc := range []struct{ id, fr, en string }{
		{s.Service, "Maternité", "Maternity"},
		{s.Other, "Diabétologie", "Diabetology"},
	} {
		bb.put(map[string]any{
			"resourceType": "HealthcareService", "id": svc.id, "active": true,
			"providedBy": reference("Organization", s.Establishment),
			"name":       svc.fr, "_name": translation(svc.en),
		})
	}
	people := []struct {
		given, family, service, roleFR, roleEN string
	}{
		{"Sophie", "Lefebvre", s.Service, "Sage-femme", "Midwife"},
		{"Claire", "Martin", s.Service, "Sage-femme", "Midwife"},
		{"Julien", "Roux", s.Other, "Diabétologue", "Diabetologist"},
	}
	for i, p := range people {
		pr := s.Practitioners[i]
		bb.put(map[string]any{
			"resourceType": "Practitioner", "id": pr,
			"name": []any{map[string]any{"family": p.family, "given": []any{p.given}}},
		})
		bb.put(map[string]any{
			"resourceType": "PractitionerRole", "id": id("role", i+1), "active": true,
			"practitioner":      reference("Practitioner", pr),
			"organization":      reference("Organization", s.Establishment),
			"healthcareService": []any{reference("HealthcareService", p.service)},
			"code":              []any{map[string]any{"text": p.roleFR, "_text": translation(p.roleEN)}},
		})
		bb.put(map[string]any{
			"resourceType": "Schedule", "id": id("sch", i+1), "active": true,
			"actor": []any{reference("Practitioner", pr), reference("HealthcareService", p.service)},
		})
	}
	local := now.In(paris)
	at := func(day, hour, minute int) time.Time {
		return time.Date(local.Year(), local.Month(), local.Day()+day, hour, minute, 0, 0, paris)
	}
	n := 0
	addSlot := func(schedule int, start time.Time) string {
		n++
		sl := id("sl", n)
		bb.put(map[string]any{
			"resourceType": "Slot", "id": sl, "status": "free",
			"schedule": reference("Schedule", id("sch", schedule)),
			"start":    start.Format(time.RFC3339), "end": start.Add(30 * time.Minute).Format(time.RFC3339),
		})
		return sl
	}
	// Maternity: both midwives at 9:00 (practitioner 1's id sorts
	// first), the second one again at 14:00, on days 1 to 7.
	for day := 1; day <= 7; day++ {
		s.ServiceSlots = append(s.ServiceSlots, addSlot(1, at(day, 9, 0)), addSlot(2, at(day, 9, 0)), addSlot(2, at(day, 14, 0)))
	}
	s.FirstServiceSlotAt = at(1, 9, 0)
	for day := 2; day <= 6; day++ {
		s.OtherServiceSlots = append(s.OtherServiceSlots, addSlot(3, at(day, 10, 30)))
	}
	for i := range patients {
		p := id("pat", i+1)
		ins := testINS(t)
		s.Patients = append(s.Patients, p)
		s.INS = append(s.INS, ins)
		bb.put(map[string]any{
			"resourceType": "Patient", "id": p,
			"identifier": []any{map[string]any{"system": fhir.INSNIRTest, "value": ins}},
			"name":       []any{map[string]any{"use": "official", "family": "Patient-" + sfx, "given": []any{fmt.Sprint("Numéro ", i+1)}}},
		})
	}
	for _, bundle := range bb.transactions(t) {
		if _, err := b.LoadBundle(t.Context(), bundle); err != nil {
			t.Fatalf("seeding: %v", err)
		}
	}
	return s
}

// bundleBuilder makes a transaction Bundle of PUT entries
// (https://hl7.org/fhir/R4/http.html#transaction): ids are the client's.
type bundleBuilder struct{ entries []any }

func (bb *bundleBuilder) put(res map[string]any) {
	bb.entries = append(bb.entries, map[string]any{
		"resource": res,
		"request":  map[string]any{"method": "PUT", "url": fmt.Sprint(res["resourceType"], "/", res["id"])},
	})
}

// maxTransaction is the most entries seed puts in one transaction: servers
// bound them (Medplum allows 50 updates).
const maxTransaction = 50

// transactions returns the entries as transactions of at most
// maxTransaction entries, in order.
func (bb *bundleBuilder) transactions(t testing.TB) [][]byte {
	t.Helper()
	var out [][]byte
	for chunk := range slices.Chunk(bb.entries, maxTransaction) {
		b, err := json.Marshal(map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": chunk})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func reference(typ, id string) map[string]any {
	return map[string]any{"reference": typ + "/" + id}
}

func translation(en string) map[string]any {
	return map[string]any{"extension": []any{map[string]any{
		"url": fhir.ExtTranslation,
		"extension": []any{
			map[string]any{"url": "lang", "valueCode": "en"},
			map[string]any{"url": "content", "valueString": en},
		},
	}}}
}

// testINS returns a random INS-shaped number with a right key.
func testINS(t testing.TB) string {
	t.Helper()
	nir := 1_000_000_000_000 + mrand.Uint64N(9_000_000_000_000) // 13 digits
	ins := fmt.Sprintf("%013d%02d", nir, 97-nir%97)
	if !fhir.ValidINS(ins) {
		t.Fatalf("testINS made %s, which ValidINS refuses", ins)
	}
	return ins
}
