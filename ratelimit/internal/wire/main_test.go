package wire

import (
	"testing"

	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
)

func TestMain(m *testing.M) { servertest.Main(m) }
