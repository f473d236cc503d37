package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the test reads the host's database after the run

	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/host/notify"
	"github.com/parcours-sante/parcours/host/notify/smtptest"
	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// The crash test of messaging: crashMessages messages sent by crashWorkers
// concurrent clients while the host process is killed (SIGKILL) crashKills
// times and restarted on the same database; afterwards exactly one stored
// message per client id, and one notification e-mail delivered for each
// (at least once: a redelivery carries the same Message-ID).
const (
	crashMessages = 1000
	crashWorkers  = 20
	crashKills    = 10
	// crashFrom is the notifications' sender; its domain names the
	// Message-IDs.
	crashFrom       = "Parcours <ne-pas-repondre@chu-exemple.example>"
	crashMsgIDHost  = "chu-exemple.example"
	crashLease      = 2 * time.Second
	crashInterval   = 100 * time.Millisecond
	crashDrainLimit = 30 * time.Second
)

// crashSeedEnv replays a run's random choices (when to kill): its seed is
// logged. The timing of the clients stays the machine's.
const crashSeedEnv = "PARCOURS_CRASH_SEED"

// The parcours binary, built once per test process (see TestMain).
var parcoursBin struct {
	once      sync.Once
	dir, path string
	err       error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if parcoursBin.dir != "" {
		os.RemoveAll(parcoursBin.dir)
	}
	os.Exit(code)
}

// buildParcours builds this command into a temporary directory, once.
func buildParcours(t *testing.T) string {
	t.Helper()
	parcoursBin.once.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			parcoursBin.err = fmt.Errorf("the go command is needed to build the host: %w", err)
			return
		}
		if parcoursBin.dir, err = os.MkdirTemp("", "parcours-crash-"); err != nil {
			parcoursBin.err = err
			return
		}
		parcoursBin.path = filepath.Join(parcoursBin.dir, "parcours")
		cmd := exec.Command(goTool, "build", "-o", parcoursBin.path, ".")
		if out, err := cmd.CombinedOutput(); err != nil {
			parcoursBin.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if parcoursBin.err != nil {
		t.Fatal(parcoursBin.err)
	}
	return parcoursBin.path
}

// hostProcess is the parcours host run as a child process.
type hostProcess struct {
	t      *testing.T
	bin    string
	args   []string
	base   string // http://127.0.0.1:port
	logf   *os.File
	starts int

	cmd    *exec.Cmd
	exited chan struct{} // closed once cmd.Wait returned
}

// hostEnv is the test's environment without the host's own settings, so
// that only the flags configure the child.
func hostEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PARCOURS_") || k == "PORT" || k == "SITE_PORT" {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// start runs the host with its arguments and extra ones, and waits until
// /healthz answers.
func (p *hostProcess) start(extra ...string) {
	p.t.Helper()
	p.starts++
	fmt.Fprintf(p.logf, "=== start %d at %s\n", p.starts, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(p.bin, append(slices.Clone(p.args), extra...)...)
	cmd.Env = hostEnv()
	cmd.Stdout, cmd.Stderr = p.logf, p.logf
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	p.cmd, p.exited = cmd, exited
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-exited:
			p.t.Fatalf("the host stopped while starting (%v):\n%s", cmd.ProcessState, p.logTail(4000))
		default:
		}
		if resp, err := hc.Get(p.base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			p.kill()
			p.t.Fatalf("the host did not answer /healthz within 20 s:\n%s", p.logTail(4000))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// kill sends SIGKILL and waits until the process is gone.
func (p *hostProcess) kill() {
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Kill()
	<-p.exited
	fmt.Fprintf(p.logf, "=== killed at %s\n", time.Now().Format(time.RFC3339Nano))
	p.cmd = nil
}

// stop sends SIGTERM, as an operator would, and reports how the host ended.
func (p *hostProcess) stop() error {
	if p.cmd == nil {
		return nil
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		p.kill()
		return errors.New("the host did not stop within 15 s of SIGTERM")
	}
	st := p.cmd.ProcessState
	p.cmd = nil
	if !st.Success() {
		return fmt.Errorf("the host ended with %v after SIGTERM", st)
	}
	return nil
}

// logTail returns the last max bytes of the host's output.
func (p *hostProcess) logTail(max int) string {
	b, _ := os.ReadFile(p.logf.Name())
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}

// freePort returns a loopback port nobody listens on, for a host that must
// come back on the same address after each kill.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// crashIdentity is whom a client signs in as, and the seeded thread it
// writes in.
type crashIdentity struct {
	kind    portal.AuthorKind
	id      string
	service string
	thread  string
}

var crashIdentities = []crashIdentity{
	{portal.AuthorPatient, sqlite.DemoPatientCamilleDurand, sqlite.ServiceMaternite, sqlite.DemoThreadMaternite},
	{portal.AuthorPatient, sqlite.DemoPatientLucasBernard, sqlite.ServiceDiabetologie, sqlite.DemoThreadDiabetologie},
	{portal.AuthorPractitioner, sqlite.DemoPractitionerClaireMartin, sqlite.ServiceMaternite, sqlite.DemoThreadMaternite},
	{portal.AuthorPractitioner, sqlite.DemoPractitionerNathalieFournier, sqlite.ServiceDiabetologie, sqlite.DemoThreadDiabetologie},
}

// sentMessage is what a client was told of a message it sent.
type sentMessage struct {
	clientID, id, thread string
	author               crashIdentity
}

// crashCounters count the clients' trouble.
type crashCounters struct {
	retries atomic.Int64 // transport errors and 5xx, each retried with the same client id
	status5 atomic.Int64 // of which 5xx responses (the host was up)
	signIns atomic.Int64 // sign-ins, the first ones included (sessions die with the process)
	done    atomic.Int64 // messages acknowledged by the host
}

// countingTransport counts the 5xx responses.
type countingTransport struct {
	client.Transport
	c *crashCounters
}

func (t countingTransport) Do(ctx context.Context, r *client.Request) (*client.Response, error) {
	resp, err := t.Transport.Do(ctx, r)
	if err == nil && resp.Status >= 500 {
		t.c.status5.Add(1)
	}
	return resp, err
}

// crashClient is one concurrent client: it signs in as who and sends n
// messages one after the other, each retried with its client id until the
// host stores it. A patient starts a thread with its first message and
// writes every other message there; the rest go to the seeded thread.
func crashClient(ctx context.Context, base string, w, n int, who crashIdentity, c *crashCounters) ([]sentMessage, error) {
	cl := client.New(base, client.WithLanguage("en"), client.WithTransport(countingTransport{client.NewHTTPTransport(), c}))
	retryable := func(err error) bool { return portal.Code(err).Status() >= 500 }
	pause := func() error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5*time.Millisecond + rand.N(20*time.Millisecond)):
			return nil
		}
	}
	signIn := func() error {
		for {
			c.signIns.Add(1)
			var err error
			if who.kind == portal.AuthorPatient {
				_, err = cl.DemoSignIn(ctx, who.id)
			} else {
				_, err = cl.DemoPractitionerSignIn(ctx, who.id)
			}
			if err == nil || !retryable(err) {
				return err
			}
			c.retries.Add(1)
			if err := pause(); err != nil {
				return err
			}
		}
	}
	// do runs op until it succeeds: again after a transport error or a
	// 5xx, and after a new sign-in when the session is gone (a restarted
	// host forgets its sessions). Any other error is a failure.
	do := func(op func() error) error {
		for {
			err := op()
			if err == nil {
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			switch {
			case portal.IsCode(err, portal.ErrUnauthenticated):
				if err := signIn(); err != nil {
					return fmt.Errorf("signing in again: %w", err)
				}
			case retryable(err):
				c.retries.Add(1)
				if err := pause(); err != nil {
					return err
				}
			default:
				return err
			}
		}
	}
	if err := signIn(); err != nil {
		return nil, fmt.Errorf("client %d: signing in as %s: %w", w, who.id, err)
	}
	var own string // the thread a patient started
	out := make([]sentMessage, 0, n)
	for k := range n {
		m := sentMessage{clientID: fmt.Sprintf("crash-w%02d-m%02d", w, k), author: who}
		body := fmt.Sprintf("Message %d du client %d : essai de reprise après un arrêt brutal.", k, w)
		var err error
		switch {
		case who.kind == portal.AuthorPatient && k == 0:
			err = do(func() error {
				conv, err := cl.StartThread(ctx, portal.NewThread{
					Establishment: sqlite.DemoEstablishment, Service: who.service,
					Subject: fmt.Sprintf("Essai de reprise %d", w), Body: body, ClientID: m.clientID,
				})
				if err != nil {
					return err
				}
				own, m.thread = conv.ID, conv.ID
				for _, msg := range conv.Messages {
					if msg.ClientID == m.clientID {
						m.id = msg.ID
					}
				}
				if m.id == "" {
					return fmt.Errorf("the thread started lacks its first message %s", m.clientID)
				}
				return nil
			})
		default:
			thread := who.thread
			if who.kind == portal.AuthorPatient && k%2 == 1 {
				thread = own
			}
			err = do(func() error {
				msg, err := cl.Send(ctx, thread, portal.NewMessage{ClientID: m.clientID, Body: body})
				if err != nil {
					return err
				}
				if msg.ClientID != m.clientID || msg.Thread != thread {
					return fmt.Errorf("sent %s in %s, the host answered %s in %s", m.clientID, thread, msg.ClientID, msg.Thread)
				}
				m.id, m.thread = msg.ID, msg.Thread
				return nil
			})
		}
		if err != nil {
			return out, fmt.Errorf("client %d (%s), message %s: %w", w, who.id, m.clientID, err)
		}
		out = append(out, m)
		c.done.Add(1)
	}
	return out, nil
}

// TestCrashMessaging: 1,000 messages sent by 20 concurrent clients while the
// host process is killed with SIGKILL at 10 random moments and restarted;
// afterwards exactly 1,000 messages are stored, one per client id, and
// exactly one notification per message was delivered (redeliveries, which
// carry the Message-ID of one delivered before, are counted and logged).
func TestCrashMessaging(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: builds and runs the host as a process")
	}
	began := time.Now()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(crashSeedEnv); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("%s: %v", crashSeedEnv, err)
		}
	}
	t.Logf("seed %d (replay the kill schedule with %s=%d)", seed, crashSeedEnv, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))

	bin := buildParcours(t)
	t.Logf("host built in %v", time.Since(began).Round(time.Millisecond))
	sink := smtptest.NewServer(t)
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "parcours.db")
	logf, err := os.Create(filepath.Join(dir, "host.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
	h := &hostProcess{
		t: t, bin: bin, base: "http://" + addr, logf: logf,
		args: []string{"serve",
			"-addr", addr, "-db", dbPath, "-assets", filepath.Join(dir, "no-assets"),
			"-demo-signin", "-log-level", "warn",
			// The test measures crashes, not the rate limit: each
			// client writes as fast as the host answers.
			"-messages-per-minute", "1000000", "-writes-per-address-per-minute", "1000000",
			"-smtp", sink.Addr(), "-smtp-from", crashFrom, "-smtp-starttls=false",
			// A notification claimed by a killed host comes back after
			// the lease; the sender polls an empty outbox often.
			"-notify-lease", crashLease.String(), "-notify-interval", crashInterval.String(),
		},
	}
	t.Cleanup(h.kill)
	failed := func() {
		if t.Failed() {
			t.Logf("host output (end):\n%s", h.logTail(4000))
		}
	}
	defer failed()
	h.start("-seed") // the demo data once; the later starts find it

	// The clients.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	var counters crashCounters
	results := make([][]sentMessage, crashWorkers)
	errs := make([]error, crashWorkers)
	var wg sync.WaitGroup
	clientsDone := make(chan struct{})
	defer func() {
		cancel()
		wg.Wait()
	}()
	sendBegan := time.Now()
	for w := range crashWorkers {
		n := crashMessages / crashWorkers
		if w < crashMessages%crashWorkers {
			n++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[w], errs[w] = crashClient(ctx, h.base, w, n, crashIdentities[w%len(crashIdentities)], &counters)
		}()
	}
	go func() {
		wg.Wait()
		close(clientsDone)
	}()

	// The kills: each when the clients have had a random number of
	// messages stored (so that every kill falls while they send, whatever
	// the machine's speed), after a further random delay.
	marks := make([]int64, crashKills)
	for i := range marks {
		marks[i] = 20 + rng.Int64N(crashMessages*9/10-20)
	}
	slices.Sort(marks)
	killedWhileSending := 0
	for i, mark := range marks {
		for counters.done.Load() < mark && ctx.Err() == nil {
			select {
			case <-clientsDone:
			case <-time.After(time.Millisecond):
				continue
			}
			break
		}
		select {
		case <-time.After(time.Duration(rng.Int64N(int64(40 * time.Millisecond)))):
		case <-ctx.Done():
			t.Fatalf("the clients did not finish in time: %d messages stored", counters.done.Load())
		}
		at := counters.done.Load()
		select {
		case <-clientsDone:
		default:
			killedWhileSending++
		}
		h.kill()
		down := time.Duration(rng.Int64N(int64(50 * time.Millisecond)))
		time.Sleep(down) // clients meet a refused connection
		restart := time.Now()
		h.start()
		t.Logf("kill %d at %d messages acknowledged; down %v, restarted in %v",
			i+1, at, down.Round(time.Millisecond), time.Since(restart).Round(time.Millisecond))
	}
	select {
	case <-clientsDone:
	case <-ctx.Done():
		t.Fatalf("the clients did not finish in time: %d messages stored", counters.done.Load())
	}
	var sent []sentMessage
	for w, err := range errs {
		if err != nil {
			t.Error(err)
		}
		sent = append(sent, results[w]...)
	}
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("%d messages sent in %v by %d clients through %d kills (%d while they sent); %d retries (%d after a 5xx), %d sign-ins",
		len(sent), time.Since(sendBegan).Round(time.Millisecond), crashWorkers, crashKills, killedWhileSending,
		counters.retries.Load(), counters.status5.Load(), counters.signIns.Load())
	if killedWhileSending < crashKills/2 {
		t.Errorf("only %d of %d kills fell while the clients sent", killedWhileSending, crashKills)
	}

	// The notifier drains the outbox: wait until every notification is
	// acknowledged, then stop the host as an operator would.
	db, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	drainBegan := time.Now()
	for {
		var pending int
		if err := db.QueryRow(`SELECT COUNT(*) FROM outbox WHERE delivered_utc IS NULL`).Scan(&pending); err != nil {
			t.Fatal(err)
		}
		if pending == 0 {
			break
		}
		select {
		case <-h.exited:
			t.Fatalf("the host stopped with %d notifications waiting (%v)", pending, h.cmd.ProcessState)
		default:
		}
		if time.Since(drainBegan) > crashDrainLimit {
			t.Fatalf("%d notifications still waiting after %v", pending, crashDrainLimit)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("outbox drained %v after the clients ended", time.Since(drainBegan).Round(time.Millisecond))
	if err := h.stop(); err != nil {
		t.Error(err)
	}

	checkHostLog(t, h.logTail(1<<20))
	checkStoredMessages(t, db, sent)
	checkDeliveries(t, db, sink)
	t.Logf("crash test took %v", time.Since(began).Round(time.Millisecond))
}

// checkHostLog fails on a panic or a data race in the host's output, and
// logs its errors: a kill leaves nothing the next start should complain
// about.
func checkHostLog(t *testing.T, log string) {
	t.Helper()
	if strings.Contains(log, "panic:") || strings.Contains(log, "WARNING: DATA RACE") {
		t.Errorf("the host panicked or raced:\n%s", log)
	}
	var errorLines, warnLines []string
	for _, l := range strings.Split(log, "\n") {
		switch {
		case strings.Contains(l, "level=ERROR"):
			errorLines = append(errorLines, l)
		case strings.Contains(l, "level=WARN") && !strings.Contains(l, "no Wasm assets"):
			warnLines = append(warnLines, l)
		}
	}
	if len(errorLines) > 0 {
		t.Logf("the host logged %d errors, the first: %s", len(errorLines), errorLines[0])
	}
	if len(warnLines) > 0 {
		t.Logf("the host logged %d warnings, the first: %s", len(warnLines), warnLines[0])
	}
}

// checkStoredMessages asserts that the database holds exactly the messages
// the clients sent, each once, as the host told them.
func checkStoredMessages(t *testing.T, db *sql.DB, sent []sentMessage) {
	t.Helper()
	if len(sent) != crashMessages {
		t.Fatalf("the clients sent %d messages, want %d", len(sent), crashMessages)
	}
	rows, err := db.Query(`SELECT id, client_id, author_kind, author_id, thread FROM messages WHERE client_id NOT LIKE 'seed-%'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	type stored struct{ id, kind, author, thread string }
	byClient := map[string][]stored{}
	n := 0
	for rows.Next() {
		var s stored
		var clientID string
		if err := rows.Scan(&s.id, &clientID, &s.kind, &s.author, &s.thread); err != nil {
			t.Fatal(err)
		}
		byClient[clientID] = append(byClient[clientID], s)
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != crashMessages {
		t.Errorf("%d messages stored besides the seeded ones, want exactly %d", n, crashMessages)
	}
	missing, doubled := 0, 0
	for _, m := range sent {
		got := byClient[m.clientID]
		switch {
		case len(got) == 0:
			missing++
			t.Errorf("message %s (acknowledged as %s) is not stored", m.clientID, m.id)
		case len(got) > 1:
			doubled++
			t.Errorf("message %s is stored %d times: %v", m.clientID, len(got), got)
		case got[0].id != m.id || got[0].thread != m.thread || got[0].kind != string(m.author.kind) || got[0].author != m.author.id:
			t.Errorf("message %s stored as %+v, the host told the client %s in %s by %s", m.clientID, got[0], m.id, m.thread, m.author.id)
		}
		delete(byClient, m.clientID)
	}
	for clientID, s := range byClient {
		t.Errorf("stored message %s (%v) was never sent by the clients", clientID, s)
	}
	var threads int
	if err := db.QueryRow(`SELECT COUNT(*) FROM threads WHERE id NOT IN (?, ?)`,
		sqlite.DemoThreadMaternite, sqlite.DemoThreadDiabetologie).Scan(&threads); err != nil {
		t.Fatal(err)
	}
	patients := 0
	for w := range crashWorkers {
		if crashIdentities[w%len(crashIdentities)].kind == portal.AuthorPatient {
			patients++
		}
	}
	if threads != patients {
		t.Errorf("%d threads started, want %d (one per patient client)", threads, patients)
	}
	if missing+doubled == 0 && n == crashMessages {
		t.Logf("stored: %d messages, one per client id, in %d new threads and the 2 seeded ones", n, threads)
	}
}

// checkDeliveries asserts that every stored message's notification was
// delivered to its recipient under its Message-ID, and that any e-mail
// delivered more than once is a redelivery of the same notification.
func checkDeliveries(t *testing.T, db *sql.DB, sink *smtptest.Server) {
	t.Helper()
	type expected struct {
		to       string
		attempts int
		message  string
	}
	want := map[string]expected{} // Message-ID ->
	rows, err := db.Query(`
		SELECT o.id, o.message, o.recipient, o.attempts, o.delivered_utc IS NOT NULL,
			CASE o.recipient
				WHEN 'patient' THEN (SELECT email FROM patient_contacts WHERE patient = t.patient)
				ELSE (SELECT email FROM service_contacts WHERE establishment = t.establishment AND service = t.service)
			END,
			m.author_kind
		FROM outbox o JOIN threads t ON t.id = o.thread JOIN messages m ON m.id = o.message`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	reclaimed := 0
	for rows.Next() {
		var n portal.Notification
		var delivered bool
		var to sql.NullString
		var author string
		if err := rows.Scan(&n.ID, &n.Message, &n.Recipient, &n.Attempts, &delivered, &to, &author); err != nil {
			t.Fatal(err)
		}
		if !delivered {
			t.Errorf("notification %d (message %s) is not acknowledged", n.ID, n.Message)
		}
		if string(n.Recipient) == author {
			t.Errorf("notification %d of message %s goes to its author's side (%s)", n.ID, n.Message, author)
		}
		if !to.Valid {
			t.Errorf("notification %d of message %s: its recipient has no address", n.ID, n.Message)
		}
		if n.Attempts > 1 {
			reclaimed++
		}
		want[notify.MessageID(n, crashMsgIDHost)] = expected{to: to.String, attempts: n.Attempts, message: n.Message}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(want) != crashMessages {
		t.Errorf("%d notifications in the outbox, want one per message, %d", len(want), crashMessages)
	}

	mails, problems := sunk(sink)
	for _, p := range problems {
		t.Errorf("mail server: %s", p)
	}
	deliveries := map[string]int{}
	for _, m := range mails {
		deliveries[m.MessageID]++
		w, ok := want[m.MessageID]
		switch {
		case !ok:
			t.Errorf("an e-mail with Message-ID %s to %s matches no notification", m.MessageID, m.To)
		case m.To != w.to || m.HeaderTo != w.to:
			t.Errorf("the e-mail %s went to %s (To: %s), want %s", m.MessageID, m.To, m.HeaderTo, w.to)
		}
	}
	duplicates := 0
	for id, w := range want {
		n := deliveries[id]
		switch {
		case n == 0:
			t.Errorf("the notification of message %s (Message-ID %s) was never delivered", w.message, id)
		case n > 1:
			duplicates += n - 1
			// A redelivery follows a claim whose acknowledgement a kill
			// prevented: one claim per delivery at least.
			if n > w.attempts {
				t.Errorf("Message-ID %s delivered %d times in %d claims", id, n, w.attempts)
			}
		}
	}
	t.Logf("notifications: %d e-mails received, %d distinct Message-IDs for %d messages; %d duplicate deliveries (same Message-ID); %d notifications claimed more than once",
		len(mails), len(deliveries), len(want), duplicates, reclaimed)
}

// sunkMail is one e-mail the mail server accepted, for one of its
// recipients.
type sunkMail struct {
	MessageID string
	To        string // envelope recipient (RCPT)
	HeaderTo  string // To header's address
}

// sunk returns the e-mails the mail server accepted, in order, one per
// recipient (a notification has one), and the problems seen in them.
func sunk(s *smtptest.Server) ([]sunkMail, []string) {
	var mails []sunkMail
	var bad []string
	for _, m := range s.Messages() {
		p, err := m.Parse()
		if err != nil {
			bad = append(bad, "unparsable e-mail: "+err.Error())
			continue
		}
		id := p.Header.Get("Message-ID")
		if id == "" {
			bad = append(bad, "e-mail without a Message-ID")
		}
		var headerTo string
		if a, err := mail.ParseAddress(p.Header.Get("To")); err == nil {
			headerTo = a.Address
		} else {
			bad = append(bad, "e-mail with a malformed To: "+err.Error())
		}
		if len(m.To) != 1 {
			bad = append(bad, "e-mail with several recipients: "+strings.Join(m.To, ", "))
		}
		for _, rcpt := range m.To {
			mails = append(mails, sunkMail{MessageID: id, To: rcpt, HeaderTo: headerTo})
		}
	}
	return mails, bad
}
