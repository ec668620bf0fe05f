// Command memory measures what a guild costs a node: it runs one node
// through `chopsticks load` at several guild counts, reads the node's RSS
// after a short run, and fits bytes per guild by least squares.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

func main() {
	bin := flag.String("bin", "bin/chopsticks", "chopsticks binary")
	counts := flag.String("guilds", "1000,10000,50000", "guild counts to measure")
	users := flag.Int("users", 2000, "users at every count, so that only guilds vary")
	flag.Parse()
	dir, err := os.MkdirTemp("", "bench-memory-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	var xs, ys []float64
	fmt.Println("node RSS by guild count (1 node, 20 interactions/s for 5 s after every shard is ready):")
	for _, c := range strings.Split(*counts, ",") {
		g, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || g < 1 {
			log.Fatalf("bad guild count %q", c)
		}
		out := filepath.Join(dir, c+".json")
		cmd := exec.Command(*bin, "load", "--nodes", "1", "--guilds", strconv.Itoa(g), "--users", strconv.Itoa(*users),
			"--rate", "20", "--duration", "5s", "--quiet", "--json", out)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			log.Fatalf("load at %d guilds: %v", g, err)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			log.Fatal(err)
		}
		var rep struct {
			Nodes []struct {
				RSSBytes int64 `json:"rss_bytes"`
			} `json:"nodes"`
		}
		if err := json.Unmarshal(b, &rep); err != nil || len(rep.Nodes) != 1 {
			log.Fatalf("report at %d guilds: %v %s", g, err, b)
		}
		rss := float64(rep.Nodes[0].RSSBytes)
		fmt.Printf("  %6d guilds: %.1f MB\n", g, rss/(1<<20))
		xs, ys = append(xs, float64(g)), append(ys, rss)
	}
	slope, icept := fit(xs, ys)
	fmt.Printf("slope: %.0f bytes per guild (target: at most 1024); intercept %.1f MB\n", slope, icept/(1<<20))
}

// fit returns the least-squares line y = slope*x + intercept.
func fit(xs, ys []float64) (slope, intercept float64) {
	n := float64(len(xs))
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx, sy = sx+xs[i], sy+ys[i]
		sxx, sxy = sxx+xs[i]*xs[i], sxy+xs[i]*ys[i]
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return 0, sy / n
	}
	slope = (n*sxy - sx*sy) / d
	return slope, (sy - slope*sx) / n
}
