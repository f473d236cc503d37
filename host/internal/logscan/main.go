// Command logscan reads the output of a whole test run (go test -v) and
// fails if it holds a secret: a demo account's password or second-factor
// seed, an INS (a 15-digit number with a valid key), a session cookie's
// value, a bearer token, an OAuth code verifier, an ID or access token
// (a JWT). `make test` runs it on the run's log: logs must never carry one.
//
//	go run ./host/internal/logscan build/test-run.log
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/parcours-sante/parcours/host/demoid"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// patterns find secrets by their shape.
var patterns = []struct {
	name string
	re   *regexp.Regexp
}{
	{"a session cookie", regexp.MustCompile(`parcours_session=[A-Za-z0-9_-]{20,}`)},
	{"a sign-in binding cookie", regexp.MustCompile(`parcours_login=[A-Za-z0-9_-]{20,}`)},
	{"a bearer token", regexp.MustCompile(`(?i)bearer [A-Za-z0-9._~+/-]{20,}`)},
	{"a code verifier", regexp.MustCompile(`code_verifier=[A-Za-z0-9._~-]{20,}`)},
	{"a JWT", regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.`)},
}

var digits15 = regexp.MustCompile(`(^|[^0-9])([0-9]{13}[0-9]{2})([^0-9]|$)`)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: logscan FILE")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "logscan:", err)
		os.Exit(2)
	}
	defer f.Close()
	found, lines, err := scan(f, os.Stdout)
	switch {
	case err != nil:
		fmt.Fprintln(os.Stderr, "logscan:", err)
		os.Exit(2)
	case lines == 0:
		fmt.Fprintln(os.Stderr, "logscan: the log is empty: nothing was scanned")
		os.Exit(2)
	case found > 0:
		fmt.Printf("logscan: %d secrets in %d lines of %s\n", found, lines, os.Args[1])
		os.Exit(1)
	}
	fmt.Printf("logscan: %d lines, no secret\n", lines)
}

// scan reads a log and reports to w each line that holds a secret (the
// first 20), never the secret itself; it returns how many it found.
func scan(r io.Reader, w io.Writer) (found, lines int, err error) {
	literal := []struct{ name, value string }{{"the demo password", demoid.Password}}
	for _, a := range demoid.Accounts {
		if a.TOTPSecret != "" {
			literal = append(literal, struct{ name, value string }{"a second-factor seed", a.TOTPSecret})
		}
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		lines++
		line := sc.Text()
		report := func(what string) {
			found++
			if found <= 20 {
				fmt.Fprintf(w, "logscan: line %d holds %s\n", lines, what)
			}
		}
		for _, l := range literal {
			if strings.Contains(line, l.value) {
				report(l.name)
			}
		}
		for _, p := range patterns {
			if p.re.MatchString(line) {
				report(p.name)
			}
		}
		for _, m := range digits15.FindAllStringSubmatch(line, -1) {
			if portal.ValidINS(m[2]) {
				report("an INS")
			}
		}
	}
	return found, lines, sc.Err()
}
