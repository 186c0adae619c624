// Package schema holds the golang-migrate migrations, embedded in the binary.
package schema

import "embed"

// Migrations are the *.up.sql and *.down.sql files of this folder.
//
//go:embed *.sql
var Migrations embed.FS
