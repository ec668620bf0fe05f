// Package bintest gives tests the chopsticks binary: $CHOPSTICKS_BIN when
// set (make test builds it once for every package), or one built once per
// test binary.
package bintest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var (
	once  sync.Once
	built string
	err   error
)

// Chopsticks returns the path of the chopsticks binary.
func Chopsticks(t testing.TB) string {
	t.Helper()
	if bin := os.Getenv("CHOPSTICKS_BIN"); bin != "" {
		return bin
	}
	once.Do(func() {
		dir, derr := os.MkdirTemp("", "chopsticks-bin-")
		if derr != nil {
			err = derr
			return
		}
		built = filepath.Join(dir, "chopsticks")
		_, file, _, _ := runtime.Caller(0)
		cmd := exec.Command("go", "build", "-o", built, "./cmd/chopsticks")
		cmd.Dir = filepath.Join(filepath.Dir(file), "..")
		if out, berr := cmd.CombinedOutput(); berr != nil {
			err = fmt.Errorf("build chopsticks: %v\n%s", berr, out)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return built
}
