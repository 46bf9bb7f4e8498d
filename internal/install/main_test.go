package install

import (
	"testing"

	"github.com/phylum-box/phylum-box/internal/testutil"
)

func TestMain(m *testing.M) { testutil.ContainerMain(m) }
