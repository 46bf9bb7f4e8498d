package lazyre

import (
	"strings"
	"sync"
	"testing"
)

func TestNewCompilesOnceOnFirstUse(t *testing.T) {
	re := New(`^a+b$`)
	var wg sync.WaitGroup
	got := make([]any, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i] = re()
		}()
	}
	wg.Wait()
	for _, g := range got {
		if g != got[0] {
			t.Fatal("the expression was compiled more than once")
		}
	}
	if !re().MatchString("aab") || re().MatchString("ab c") {
		t.Fatalf("%v matches wrongly", re())
	}
}

func TestCompileAllNamesABadExpression(t *testing.T) {
	if err := CompileAll(); err != nil {
		t.Fatalf("before adding a bad expression: %v", err)
	}
	registeredMu.Lock()
	saved := len(registered)
	registeredMu.Unlock()
	t.Cleanup(func() {
		registeredMu.Lock()
		registered = registered[:saved]
		registeredMu.Unlock()
	})
	bad := New(`(unclosed`)
	err := CompileAll()
	if err == nil || !strings.Contains(err.Error(), "(unclosed") {
		t.Fatalf("CompileAll = %v, want the error naming (unclosed", err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("using a bad expression did not panic")
		}
	}()
	bad()
}
