using System.Net;
using System.Net.Sockets;

namespace AccountFunctions.Core.Security;

/// <summary>
/// Where the client's address comes from (<c>ClientIp__Header</c>, <c>ClientIp__HopFromEnd</c>).
/// Empty header: what the platform gives, i.e. the worker's forwarded-headers result (the last
/// <c>X-Forwarded-For</c> hop, which Azure's front end appends), read from the header itself when
/// that processing refused the hop.
/// </summary>
public sealed class ClientIpOptions
{
    public string Header { get; set; } = "";
    /// <summary>1 = the last entry of the header, 2 = the one before it (one more proxy of your own in front), ...</summary>
    public int HopFromEnd { get; set; } = 1;
}

/// <summary>
/// Client addresses as limits and the audit trail count them: parsed, never raw header text. A
/// port, brackets and surrounding quotes go; an IPv4-mapped IPv6 address is the IPv4 address;
/// IPv6 is in canonical (RFC 5952) form; anything else is no address (null), which the limits
/// count as one shared client, <see cref="Unknown"/>.
/// </summary>
public static class ClientAddress
{
    public const string Unknown = "unknown";

    public static string? Parse(string? raw)
    {
        if (raw is null) return null;
        var s = raw.Trim().Trim('"').Trim();
        if (s.Length is 0 or > 100) return null;
        IPAddress? address = null;
        if (s.StartsWith('['))
        {
            // [v6] or [v6]:port
            var close = s.IndexOf(']');
            if (close < 0 || !(close == s.Length - 1 || (s[close + 1] == ':' && IsPort(s[(close + 2)..])))) return null;
            if (!IPAddress.TryParse(s[1..close], out address) || address.AddressFamily != AddressFamily.InterNetworkV6) return null;
        }
        else if (s.Count(c => c == ':') == 1)
        {
            // v4:port
            var colon = s.IndexOf(':');
            if (!IsPort(s[(colon + 1)..]) || !IsDottedQuad(s[..colon]) || !IPAddress.TryParse(s[..colon], out address)) return null;
        }
        else if (s.Contains(':'))
        {
            if (!IPAddress.TryParse(s, out address) || address.AddressFamily != AddressFamily.InterNetworkV6) return null;
        }
        else
        {
            // Only a dotted quad: IPAddress.TryParse also takes "1", "0x7f.1" and other legacy forms.
            if (!IsDottedQuad(s) || !IPAddress.TryParse(s, out address)) return null;
        }
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (address.AddressFamily == AddressFamily.InterNetworkV6) address.ScopeId = 0; // a zone means nothing past the link
        return address.ToString();
    }

    /// <summary>What one client is for a limit: an IPv4 address, an IPv6 /64 (one site or device), or <see cref="Unknown"/>.</summary>
    public static string LimitKey(string? parsed)
    {
        if (parsed is null || !IPAddress.TryParse(parsed, out var address)) return Unknown;
        if (address.AddressFamily != AddressFamily.InterNetworkV6) return address.ToString();
        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes) + "/64";
    }

    /// <summary>The entry <paramref name="hopFromEnd"/> from the end of a comma-separated forwarding header (several header lines count as one list).</summary>
    public static string? Hop(IEnumerable<string?> headerValues, int hopFromEnd)
    {
        var entries = headerValues.SelectMany(v => (v ?? "").Split(',')).Select(e => e.Trim()).ToList();
        if (entries.Count > 0 && entries.All(e => e.Length == 0)) entries.Clear();
        var index = entries.Count - Math.Max(1, hopFromEnd);
        return index >= 0 ? entries[index] : null;
    }

    private static bool IsPort(string s) => s.Length is > 0 and <= 5 && s.All(char.IsAsciiDigit) && int.Parse(s) <= 65535;

    private static bool IsDottedQuad(string s)
    {
        var parts = s.Split('.');
        return parts.Length == 4 && parts.All(p => p.Length is > 0 and <= 3 && p.All(char.IsAsciiDigit) && int.Parse(p) <= 255);
    }
}
