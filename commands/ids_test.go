package commands

import (
	"time"

	"github.com/diamondburned/arikawa/v3/discord"
)

// freshID returns an interaction ID created now, as Discord would stamp
// it, made distinct by n (the snowflake's low 22 bits). The router reads an
// interaction's age from its ID, so tests of fresh interactions need one.
func freshID(n uint64) discord.InteractionID {
	return idAt(time.Now(), n)
}

// idAt returns an interaction ID created at t, made distinct by n.
func idAt(t time.Time, n uint64) discord.InteractionID {
	return discord.InteractionID(uint64(discord.NewSnowflake(t)) | n&(1<<22-1))
}

// FreshID is freshID for the package's external tests.
var FreshID = freshID
