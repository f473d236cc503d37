package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/parcours-sante/parcours/host/backend/fhir"
	"github.com/parcours-sante/parcours/host/backend/fhir/fhirtest"
	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/host/internal/syncbuf"
	"github.com/parcours-sante/parcours/host/notify/smtptest"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// TestServeSeveralEstablishments: `parcours serve -config` with the demo
// establishment on SQLite and a second one on a real FHIR server, seeded
// from the example Bundle under another id; each answers from its own
// backend through one host, with the configured name and theme.
func TestServeSeveralEstablishments(t *testing.T) {
	base := fhirtest.Start(t)
	bundle, err := os.ReadFile(filepath.Join("..", "..", "..", "examples", "fhir", "establishment-bundle.json"))
	if err != nil {
		t.Fatal(err)
	}
	// The example's Organization, as another establishment.
	bundle = []byte(strings.ReplaceAll(string(bundle), "chu-exemple", "ch-nord"))
	loader, err := fhir.New(fhir.Config{BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := loader.LoadBundle(context.Background(), bundle); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	config := filepath.Join(dir, "sites.json")
	os.WriteFile(config, []byte(`{
  "establishments": [
    {"id": "chu-exemple", "backend": {"type": "sqlite"}, "origins": ["https://www.chu-exemple.fr"]},
    {"id": "ch-nord", "name": "Centre hospitalier Nord",
     "backend": {"type": "fhir", "url": "`+base+`", "token_env": "PARCOURS_TEST_FHIR_TOKEN"},
     "origins": ["https://www.ch-nord.fr"], "theme": {"primary": "#006d5b"}}
  ]
}`), 0o600)
	t.Setenv("PARCOURS_TEST_FHIR_TOKEN", "test-token")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncbuf.Buffer
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, []string{"-addr", "127.0.0.1:0", "-db", filepath.Join(dir, "p.db"), "-seed", "-assets", dir, "-config", config, "-demo-signin", "-log-level", "error"}, false, &out)
	}()
	listening := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`)
	var hostURL string
	for i := 0; i < 200 && hostURL == ""; i++ {
		select {
		case err := <-done:
			t.Fatalf("serve stopped: %v\n%s", err, out.String())
		default:
		}
		if m := listening.FindStringSubmatch(out.String()); m != nil {
			hostURL = m[1]
		}
		sleep()
	}
	if hostURL == "" {
		t.Fatalf("no address in:\n%s", out.String())
	}
	get := func(path string) []byte {
		t.Helper()
		resp, err := http.Get(hostURL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		return b
	}
	var est portal.Establishment
	json.Unmarshal(get("/api/v1/establishments/ch-nord"), &est)
	if est.Name != "Centre hospitalier Nord" || est.TimeZone != "Europe/Paris" {
		t.Errorf("ch-nord: %+v", est)
	}
	var services struct{ Services []portal.Service }
	json.Unmarshal(get("/api/v1/establishments/ch-nord/services"), &services)
	if !slices.ContainsFunc(services.Services, func(s portal.Service) bool { return s.ID == "maternite" && s.Establishment == "ch-nord" }) {
		t.Errorf("ch-nord's services from its FHIR server: %+v", services.Services)
	}
	json.Unmarshal(get("/api/v1/establishments/chu-exemple"), &est)
	if est.Name != "CHU Exemple" {
		t.Errorf("chu-exemple from SQLite: %+v", est)
	}
	if doc := string(get("/w/booking?establishment=ch-nord&lang=fr")); !strings.Contains(doc, "--parcours-primary:#006d5b;") || !strings.Contains(doc, "Centre hospitalier Nord") {
		t.Error("ch-nord's widget lacks its theme or its name")
	}

	// Documents are routed too: a patient's of SQLite carry their
	// establishment in their ids; the FHIR establishment answers its own
	// (none for this patient).
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	req, _ := http.NewRequest("POST", hostURL+"/api/v1/demo/session", strings.NewReader(`{"patient":"`+sqlite.DemoPatientLucasBernard+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", hostURL)
	if resp, err := hc.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("sign-in: %v %v", err, resp)
	}
	for est, want := range map[string]bool{"chu-exemple": true, "ch-nord": false} {
		resp, err := hc.Get(hostURL + "/api/v1/establishments/" + est + "/documents")
		if err != nil {
			t.Fatal(err)
		}
		var list struct{ Documents []portal.Document }
		json.NewDecoder(resp.Body).Decode(&list)
		resp.Body.Close()
		if resp.StatusCode != 200 || (len(list.Documents) > 0) != want {
			t.Errorf("%s documents: %d, %d", est, resp.StatusCode, len(list.Documents))
		}
		for _, d := range list.Documents {
			if !strings.HasPrefix(d.ID, est+"~") {
				t.Errorf("%s document id %q", est, d.ID)
			}
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve returned %v", err)
	}
}

// TestServeRefusesABadConfig: the host does not start on a file with a
// mistake, and says where it is.
func TestServeRefusesABadConfig(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "sites.json")
	os.WriteFile(config, []byte("{\n  \"establishments\": [\n    {\"id\": \"ch-nord\", \"backend\": {\"type\": \"fhir\", \"url\": \"ftp://x\"}}\n  ]\n}\n"), 0o600)
	err := serve(context.Background(), []string{"-addr", "127.0.0.1:0", "-db", filepath.Join(dir, "p.db"), "-assets", dir, "-config", config, "-log-level", "error"}, false, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "sites.json:3: establishments[0].backend.url") {
		t.Fatalf("serve with a bad file: %v", err)
	}
	if err := serve(context.Background(), []string{"-config", config, "-origins", "https://x.fr", "-db", filepath.Join(dir, "p.db")}, false, io.Discard); err == nil {
		t.Error("-config and -origins together accepted")
	}
}

// TestFHIRNotificationsAreSent: a patient of an establishment on a FHIR
// server writes to its care team through the host; the e-mail telling the
// team a message is waiting goes to the HealthcareService's address, from
// the FHIR backend's outbox.
func TestFHIRNotificationsAreSent(t *testing.T) {
	base := fhirtest.Start(t)
	mailbox := smtptest.NewServer(t)
	loader, err := fhir.New(fhir.Config{BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	bundle := `{"resourceType":"Bundle","type":"transaction","entry":[
	 {"resource":{"resourceType":"Organization","id":"ch-nord","active":true,"name":"Centre hospitalier Nord"},"request":{"method":"PUT","url":"Organization/ch-nord"}},
	 {"resource":{"resourceType":"HealthcareService","id":"cardiologie","active":true,"providedBy":{"reference":"Organization/ch-nord"},"name":"Cardiologie","telecom":[{"system":"email","value":"cardio@ch-nord.example"}]},"request":{"method":"PUT","url":"HealthcareService/cardiologie"}},
	 {"resource":{"resourceType":"Patient","id":"pat-nord","meta":{"tag":[{"system":"https://parcours-sante.org/fhir/CodeSystem/tag","code":"demo"}]},"name":[{"family":"Nord","given":["Paul"]}],"telecom":[{"system":"email","value":"paul@example.org"}]},"request":{"method":"PUT","url":"Patient/pat-nord"}},
	 {"resource":{"resourceType":"Appointment","id":"apt-nord","status":"booked","start":"2027-01-11T09:00:00+01:00","end":"2027-01-11T09:30:00+01:00","participant":[{"actor":{"reference":"Patient/pat-nord"},"status":"accepted"},{"actor":{"reference":"HealthcareService/cardiologie"},"status":"accepted"}]},"request":{"method":"PUT","url":"Appointment/apt-nord"}}]}`
	if _, err := loader.LoadBundle(context.Background(), []byte(bundle)); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	config := filepath.Join(dir, "sites.json")
	os.WriteFile(config, []byte(`{"establishments": [
	  {"id": "chu-exemple", "backend": {"type": "sqlite"}},
	  {"id": "ch-nord", "backend": {"type": "fhir", "url": "`+base+`"}}]}`), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncbuf.Buffer
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, []string{"-addr", "127.0.0.1:0", "-db", filepath.Join(dir, "p.db"), "-seed", "-assets", dir, "-config", config,
			"-demo-signin", "-smtp", mailbox.Addr(), "-smtp-from", "parcours@example.org", "-smtp-starttls=false",
			"-notify-interval", "100ms", "-log-level", "error"}, false, &out)
	}()
	listening := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`)
	var hostURL string
	for i := 0; i < 200 && hostURL == ""; i++ {
		if m := listening.FindStringSubmatch(out.String()); m != nil {
			hostURL = m[1]
		}
		sleep()
	}
	if hostURL == "" {
		t.Fatalf("no address in:\n%s", out.String())
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	post := func(path, body string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("POST", hostURL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", hostURL)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Logf("POST %s: %d %s", path, resp.StatusCode, b)
		}
		return resp
	}
	if r := post("/api/v1/demo/session", `{"patient":"pat-nord"}`); r.StatusCode != 200 {
		t.Fatalf("sign-in: %d", r.StatusCode)
	}
	if r := post("/api/v1/establishments/ch-nord/threads", `{"service":"cardiologie","subject":"Essoufflement","body":"Bonjour, je suis essoufflé depuis une semaine.","client_id":"fhir-notify-1"}`); r.StatusCode != 201 {
		t.Fatalf("start a thread: %d", r.StatusCode)
	}
	for i := 0; i < 400 && mailbox.Len() == 0; i++ {
		sleep()
	}
	msgs := mailbox.Messages()
	if len(msgs) != 1 || !slices.Contains(msgs[0].To, "cardio@ch-nord.example") {
		t.Fatalf("e-mails %+v: want one to the cardiology team", msgs)
	}
	if strings.Contains(msgs[0].Data, "essoufflé") || strings.Contains(msgs[0].Data, "Essoufflement") {
		t.Error("the e-mail carries the message's content")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve returned %v", err)
	}
}
