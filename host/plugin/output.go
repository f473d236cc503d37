package plugin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// ErrInvalidOutput is wrapped by every error of the Parse functions: the
// plugin's output is not what ABI version 1 allows.
var ErrInvalidOutput = errors.New("invalid plugin output")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidOutput, fmt.Sprintf(format, args...))
}

// decodeStrict decodes exactly one JSON value of b into v, refusing unknown
// fields, trailing data and outputs over MaxOutputBytes.
func decodeStrict(b []byte, v any) error {
	if len(b) > MaxOutputBytes {
		return invalid("%d bytes, more than %d", len(b), MaxOutputBytes)
	}
	if !utf8.Valid(b) {
		return invalid("not UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalid("%v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return invalid("data after the JSON value")
	}
	return nil
}

// checkText checks a plugin-written string: at most max runes, no control
// characters (tabs and newlines included: texts are single-line).
func checkText(field, s string, max int) error {
	if n := utf8.RuneCountInString(s); n > max {
		return invalid("%s has %d characters, more than %d", field, n, max)
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return invalid("%s contains a control character", field)
		}
	}
	return nil
}

// ParseDecision parses and validates the output of HookBeforeBooking. A
// Decision whose Error is set is returned with a nil error: it is the
// plugin's own report of a failure, for the caller to apply OnError.
func ParseDecision(b []byte) (Decision, error) {
	var raw struct {
		Allow  *bool        `json:"allow"`
		Reason *portal.Text `json:"reason"`
		Error  string       `json:"error"`
	}
	if err := decodeStrict(b, &raw); err != nil {
		return Decision{}, err
	}
	if err := checkText("error", raw.Error, MaxErrorRunes); err != nil {
		return Decision{}, err
	}
	if raw.Error != "" {
		if raw.Allow != nil || raw.Reason != nil {
			return Decision{}, invalid(`"error" comes alone`)
		}
		return Decision{Error: raw.Error}, nil
	}
	if raw.Allow == nil {
		return Decision{}, invalid(`"allow" is required`)
	}
	d := Decision{Allow: *raw.Allow}
	if raw.Reason != nil {
		if d.Allow {
			return Decision{}, invalid(`"reason" is only for a refusal`)
		}
		r := portal.Text{FR: strings.TrimSpace(raw.Reason.FR), EN: strings.TrimSpace(raw.Reason.EN)}
		if r.FR == "" {
			return Decision{}, invalid(`"reason" needs "fr"`)
		}
		if err := checkText("reason.fr", r.FR, MaxReasonRunes); err != nil {
			return Decision{}, err
		}
		if err := checkText("reason.en", r.EN, MaxReasonRunes); err != nil {
			return Decision{}, err
		}
		d.Reason = &r
	}
	return d, nil
}

// ParseEffects parses and validates the output of HookAfterBooking,
// HookAfterCancel and HookNotification. It checks each effect's shape;
// whether the plugin may have it is Grants.Allows.
func ParseEffects(b []byte) (Effects, error) {
	var e Effects
	if err := decodeStrict(b, &e); err != nil {
		return Effects{}, err
	}
	if err := checkText("error", e.Error, MaxErrorRunes); err != nil {
		return Effects{}, err
	}
	if e.Error != "" && len(e.Effects) > 0 {
		return Effects{}, invalid(`"error" comes alone`)
	}
	if len(e.Effects) > MaxEffects {
		return Effects{}, invalid("%d effects, more than %d", len(e.Effects), MaxEffects)
	}
	for i := range e.Effects {
		if err := e.Effects[i].validate(); err != nil {
			return Effects{}, fmt.Errorf("effect %d: %w", i, err)
		}
	}
	return e, nil
}

func (e *Effect) validate() error {
	if e.HTTP == nil {
		return invalid("an effect needs exactly one kind (http)")
	}
	h := e.HTTP
	if h.Method != "POST" && h.Method != "PUT" {
		return invalid("http method %q: POST or PUT", h.Method)
	}
	if _, err := EffectOrigin(h.URL); err != nil {
		return err
	}
	if h.ContentType == "" {
		h.ContentType = "application/json"
	}
	if err := checkText("http.content_type", h.ContentType, 100); err != nil {
		return err
	}
	if len(h.Body) > MaxEffectBodyBytes {
		return invalid("http body of %d bytes, more than %d", len(h.Body), MaxEffectBodyBytes)
	}
	return nil
}

// EffectOrigin returns the origin (scheme://host[:port], lower case) of an
// effect's URL, which must be absolute http or https without user
// information or fragment.
func EffectOrigin(raw string) (string, error) {
	if len(raw) > 2048 {
		return "", invalid("url longer than 2048 bytes")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Fragment != "" || u.Opaque != "" {
		return "", invalid("url %q is not an absolute http(s) URL without user information", raw)
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

// ParseHooks parses and validates the output of parcours_hooks: a JSON array
// of distinct, known hook names (reserved ones included).
func ParseHooks(b []byte) ([]Hook, error) {
	var hooks []Hook
	if err := decodeStrict(b, &hooks); err != nil {
		return nil, err
	}
	seen := map[Hook]bool{}
	for _, h := range hooks {
		if !h.Known() {
			return nil, invalid("unknown hook %q (ABI version %d)", h, ABIVersion)
		}
		if seen[h] {
			return nil, invalid("hook %q listed twice", h)
		}
		seen[h] = true
	}
	return hooks, nil
}

// ParseConfigureResult parses the output of parcours_configure.
func ParseConfigureResult(b []byte) (ConfigureResult, error) {
	var c ConfigureResult
	if err := decodeStrict(b, &c); err != nil {
		return c, err
	}
	return c, checkText("error", c.Error, MaxErrorRunes)
}
