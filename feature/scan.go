package feature

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net"
	"strconv"
	"strings"

	"github.com/redis/rueidis"
)

// ScanOptions narrow Scan. The zero value visits every key of the part.
type ScanOptions struct {
	// Match is a glob pattern within the namespace ("user:*").
	Match string
	// Count hints how many keys the server examines per round trip.
	Count int64
	// Type keeps only keys of one type ("string", "hash", "stream", ...).
	Type string
}

// Scan iterates over the part's keys, yielding each without the prefix. An
// error ends the iteration after being yielded. On a cluster every primary
// is scanned. Like SCAN, it may yield a key more than once when keys are
// added or removed meanwhile.
//
//	for key, err := range part.Scan(ctx, feature.ScanOptions{Match: "user:*"}) {
//		if err != nil { return err }
//		...
//	}
func (c *Client) Scan(ctx context.Context, opts ScanOptions) iter.Seq2[string, error] {
	pattern := c.prefix + "*"
	if opts.Match != "" {
		pattern = c.prefix + opts.Match
	}
	return func(yield func(string, error) bool) {
		nodes, err := c.primaries(ctx)
		if err != nil {
			yield("", err)
			return
		}
		for _, node := range nodes {
			if !c.scanNode(ctx, node, pattern, opts, yield) {
				return
			}
		}
	}
}

// scanNode runs one node's SCAN to its end; false means stop.
func (c *Client) scanNode(ctx context.Context, node rueidis.Client, pattern string, opts ScanOptions, yield func(string, error) bool) bool {
	var cursor uint64
	for {
		// Built with the prefixed pattern and sent to the shared client:
		// through c it would be prefixed twice.
		args := []string{"SCAN", "", "MATCH", pattern}
		if opts.Count > 0 {
			args = append(args, "COUNT", formatInt(opts.Count))
		}
		if opts.Type != "" {
			args = append(args, "TYPE", opts.Type)
		}
		args[1] = formatUint(cursor)
		entry, err := c.sendObserved(ctx, node, node.B().Arbitrary(args...).ReadOnly(), "SCAN").AsScanEntry()
		if err != nil {
			return yield("", err)
		}
		for _, k := range entry.Elements {
			if !yield(strings.TrimPrefix(k, c.prefix), nil) {
				return false
			}
		}
		if entry.Cursor == 0 {
			return true
		}
		cursor = entry.Cursor
	}
}

// primaries returns the nodes whose keys Scan visits: the shared client
// itself, or on a cluster each primary (replicas hold the same keys),
// which CLUSTER SLOTS names (rueidis reads the cluster the same way, so an
// ACL user made by ACLRules may send it; ROLE it may not).
func (c *Client) primaries(ctx context.Context) ([]rueidis.Client, error) {
	if err := c.resolve(ctx); err != nil { // a lazy part learns its mode
		return nil, err
	}
	if !c.isCluster() {
		return []rueidis.Client{c.shared}, nil
	}
	nodes := c.shared.Nodes()
	var ask rueidis.Client
	for _, n := range nodes {
		ask = n
		break
	}
	if ask == nil {
		return nil, errors.New("wireredis: the cluster has no node")
	}
	slots, err := c.sendObserved(ctx, ask, ask.B().ClusterSlots().Build(), "CLUSTER SLOTS").ToArray()
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []rueidis.Client
	for i := range slots {
		entry, _ := slots[i].ToArray()
		if len(entry) < 3 {
			continue
		}
		node, _ := entry[2].ToArray()
		if len(node) < 2 {
			continue
		}
		host, _ := node[0].ToString()
		port, _ := node[1].AsInt64()
		addr := net.JoinHostPort(host, strconv.FormatInt(port, 10))
		if n, ok := nodes[addr]; ok && !seen[addr] {
			seen[addr] = true
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("wireredis: CLUSTER SLOTS names no primary this client knows (%d nodes)", len(nodes))
	}
	return out, nil
}

func formatInt(n int64) string   { return strconv.FormatInt(n, 10) }
func formatUint(n uint64) string { return strconv.FormatUint(n, 10) }
