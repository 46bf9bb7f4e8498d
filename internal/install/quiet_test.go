package install

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/phylum-box/phylum-box/internal/exitcode"
	"github.com/phylum-box/phylum-box/internal/sandbox"
	"github.com/phylum-box/phylum-box/managers"
)

func TestHomeProjectRefusal(t *testing.T) {
	p := &managers.Plan{Manager: "npm", Args: []string{"install", "lodash"}}
	err := homeProjectRefusal(p, fmt.Errorf("refusing to use /home/u as the project: %w", sandbox.ErrProjectHoldsHome))
	if err == nil {
		t.Fatal("no refusal")
	}
	var ec *exitcode.Error
	if !errors.As(err, &ec) || ec.Code != exitcode.Usage {
		t.Errorf("exit code of %v: want %d", err, exitcode.Usage)
	}
	if !strings.Contains(err.Error(), "mkdir ~/myproject && cd ~/myproject && phylum-box npm install lodash") {
		t.Errorf("no next step: %v", err)
	}
	if homeProjectRefusal(p, errors.New("other")) != nil {
		t.Errorf("another error became the home refusal")
	}
}
