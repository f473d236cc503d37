//go:build !(js && wasm)

package portal

import "log/slog"

// LogValue masks the INS in structured logs. The browser build leaves it
// out: nothing logs there, and log/slog would add to every widget's
// download.
func (i INS) LogValue() slog.Value {
	return slog.GroupValue(slog.String("value", i.Masked()), slog.String("status", string(i.Status)))
}
