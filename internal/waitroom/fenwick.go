package waitroom

// fenwick counts waiting tickets by slot so that a position is a prefix
// sum: O(log n) per join, leave or admission, 4 bytes per slot.
type fenwick struct {
	tree []int32 // 1-based; tree[0] unused
}

// add adds d at slot i (0-based).
func (f *fenwick) add(i int, d int32) {
	for j := i + 1; j < len(f.tree); j += j & -j {
		f.tree[j] += d
	}
}

// prefix returns the sum over slots [0, i).
func (f *fenwick) prefix(i int) int {
	s := int32(0)
	for j := i; j > 0; j -= j & -j {
		s += f.tree[j]
	}
	return int(s)
}

// grow makes room for at least n slots, rebuilding from the per-slot
// values that value reports (linear time, amortised over doublings).
func (f *fenwick) grow(n int, value func(i int) int32) {
	if n < len(f.tree) {
		return
	}
	size := max(1024, 2*len(f.tree))
	for size <= n {
		size *= 2
	}
	t := make([]int32, size)
	for i := 1; i < size; i++ {
		if i-1 < n {
			t[i] += value(i - 1)
		}
		if p := i + (i & -i); p < size {
			t[p] += t[i]
		}
	}
	f.tree = t
}
