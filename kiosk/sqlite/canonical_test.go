package sqlite

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCanonicalKnownAnswer pins the journal's hash format: files written
// today must verify with every later version. The expected hash was
// computed outside Go:
//
//	(head -c 32 /dev/zero; printf '1:1,32:0011...eeff,5:audit,0:,30:2025-03-10T08:30:00.000000000Z,1:1,7:{"a":1},') | sha256sum
func TestCanonicalKnownAnswer(t *testing.T) {
	canon := canonical(1, "00112233445566778899aabbccddeeff", KindAudit, "", "2025-03-10T08:30:00.000000000Z", true, []byte(`{"a":1}`))
	assert.Equal(t, `1:1,32:00112233445566778899aabbccddeeff,5:audit,0:,30:2025-03-10T08:30:00.000000000Z,1:1,7:{"a":1},`, string(canon))
	h, err := chainHash(genesisHash, canon)
	require.NoError(t, err)
	assert.Equal(t, "75505b0220f3f1fa7459b9cf5a06f924b1f9a4ebc42bced0200e03c76b226422", h)

	_, err = chainHash("zz", canon)
	assert.Error(t, err, "a bad prev hash is an error")
}
