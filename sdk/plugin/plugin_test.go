package plugin

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	abi "github.com/parcours-sante/parcours/host/plugin"
)

// TestErrorOutputIsValid: whatever a handler's error says, the SDK answers
// an output the host accepts.
func TestErrorOutputIsValid(t *testing.T) {
	for _, msg := range []string{"", "simple", strings.Repeat("é", 1000), "line\nbreak\tand\x00nul", string([]byte{0xff, 0xfe})} {
		out := errorOutput(errors.New(msg))
		d, err := abi.ParseDecision(out)
		if err != nil {
			t.Errorf("errorOutput(%q) = %s: %v", msg, out, err)
			continue
		}
		if d.Error == "" || utf8.RuneCountInString(d.Error) > abi.MaxErrorRunes {
			t.Errorf("errorOutput(%q) error = %q", msg, d.Error)
		}
	}
}

func TestConfigureWithoutHandler(t *testing.T) {
	saved := handlers.configure
	defer func() { handlers.configure = saved }()
	handlers.configure = nil
	for in, ok := range map[string]bool{"": true, "null": true, `{"a":1}`: false} {
		var r abi.ConfigureResult
		if err := json.Unmarshal(Configure([]byte(in)), &r); err != nil {
			t.Fatal(err)
		}
		if (r.Error == "") != ok {
			t.Errorf("Configure(%q) = %+v, want ok=%v", in, r, ok)
		}
	}
}

func TestHandleBadInput(t *testing.T) {
	saved := handlers.beforeBooking
	defer func() { handlers.beforeBooking = saved }()
	handlers.beforeBooking = func(BeforeBooking) (Decision, error) { return Allow(), nil }
	d, err := abi.ParseDecision(Handle("before_booking", []byte("{not json")))
	if err != nil || !strings.Contains(d.Error, "decoding input") {
		t.Errorf("Handle(bad input) = %+v, %v", d, err)
	}
}
