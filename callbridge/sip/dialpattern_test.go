package sip

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExpandDialPattern(t *testing.T) {
	tests := []struct {
		name, pattern, number, cc, want string
		wantErr                         bool
	}{
		{name: "default e164", number: "+8613812345678", cc: "86", want: "8613812345678"},
		{name: "plus", pattern: "{+e164}", number: "+8613812345678", want: "+8613812345678"},
		{name: "national with trunk prefix", pattern: "0{national}", number: "+8613812345678", cc: "86", want: "013812345678"},
		{name: "national foreign", pattern: "{national}", number: "+85291234567", cc: "86", want: "0085291234567"},
		{name: "literal prefix and suffix", pattern: "9{e164}#", number: "+8613812345678", want: "98613812345678#"},
		{name: "short code unchanged", pattern: "0{national}", number: "12355", cc: "86", want: "12355"},
		{name: "unknown placeholder", pattern: "{foo}", number: "+861", wantErr: true},
		{name: "unclosed", pattern: "0{national", number: "+861", cc: "86", wantErr: true},
		{name: "not digits", number: "+86abc", wantErr: true},
		{name: "empty", number: "", wantErr: true},
		{name: "short code with letters", number: "help", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ExpandDialPattern(tc.pattern, tc.number, tc.cc)
			if tc.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
