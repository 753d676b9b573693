// Package layering holds no code: its test checks the import graph of
// kh's packages (go list), so that the layers stay as the README's layout
// table describes them:
//
//   - nothing imports cmd/ (the CLI is the top);
//   - product code never imports the test harnesses internal/vmtest and
//     internal/testkernel;
//   - internal/ packages are leaves: they import no top-level package;
//   - package cache knows nothing of what its trees hold (it imports no
//     top-level package), and the four tracing packages (toolenv,
//     compile, loader, doctor) do not import one another.
package layering
