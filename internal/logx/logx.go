// Package logx holds the one rule kh's library packages follow for an
// optional *slog.Logger: nil means log nothing.
//
// It must not configure handlers, levels or output; the CLI does that.
package logx

import "log/slog"

// OrDiscard returns l, or a logger that drops everything when l is nil.
func OrDiscard(l *slog.Logger) *slog.Logger {
	if l != nil {
		return l
	}
	return slog.New(slog.DiscardHandler)
}
