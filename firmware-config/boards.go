// Package firmwareconfig embeds the board profiles of firmware-config/boards
// so that the kioskd binary carries them: config validates a [devices]
// board against them and devices/boards.Load reads them from FS. It is the
// only Go file in firmware-config, which is otherwise data (README.md).
package firmwareconfig

import "embed"

// FS holds boards/*.toml, rooted at firmware-config: pass it to
// devices/boards.Load and boards.Names.
//
//go:embed boards/*.toml
var FS embed.FS
