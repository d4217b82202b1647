package sip

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestMaskDialled: a sipgo error quoting the INVITE's request line is
// logged with the number masked, whatever the trunk's dial pattern made
// of it.
func TestMaskDialled(t *testing.T) {
	tests := []struct {
		name, user, number, err, want string
	}{
		{name: "e164 digits", user: "8613800000101", number: "+8613800000101",
			err:  `fail to write request on init req="INVITE sip:8613800000101@trunk.example;transport=tcp SIP/2.0": broken pipe`,
			want: `fail to write request on init req="INVITE sip:138****0101@trunk.example;transport=tcp SIP/2.0": broken pipe`},
		{name: "national with trunk 0", user: "013800000101", number: "+8613800000101",
			err:  `resp=SIP/2.0 486 Busy Here To: <sip:013800000101@trunk>`,
			want: `resp=SIP/2.0 486 Busy Here To: <sip:138****0101@trunk>`},
		{name: "plus e164", user: "+8613800000101", number: "+8613800000101",
			err: `req="INVITE sip:+8613800000101@trunk SIP/2.0"`, want: `req="INVITE sip:138****0101@trunk SIP/2.0"`},
		{name: "short code kept", user: "12355", number: "12355", err: `req="INVITE sip:12355@trunk SIP/2.0"`,
			want: `req="INVITE sip:12355@trunk SIP/2.0"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := maskDialled(errors.New(tc.err), tc.user, tc.number)
			assert.Equal(t, tc.want, got, "the number is masked, the rest kept")
			assert.NotContains(t, got, "13800000101", "no full number")
		})
	}
}
