namespace AccountFunctions.Core.Security;

/// <summary>The per-client limit groups of <see cref="ClientLimitOptions"/>; a function names one with <c>[ClientLimit]</c>.</summary>
public enum ClientLimitGroup
{
    Signup,
    Login,
    MagicLink,
    Forgot,
    Resend,
    /// <summary>Entering a code or redeeming a link.</summary>
    CodeEntry,
}

public static class ClientLimitGroups
{
    /// <summary>The group's name in the counters' keys (the <c>limits</c> table): stable, whatever the enum member is called.</summary>
    public static string Key(this ClientLimitGroup group) => group switch
    {
        ClientLimitGroup.Signup => "signup",
        ClientLimitGroup.Login => "login",
        ClientLimitGroup.MagicLink => "magic",
        ClientLimitGroup.Forgot => "forgot",
        ClientLimitGroup.Resend => "resend",
        ClientLimitGroup.CodeEntry => "code",
        _ => throw new ArgumentOutOfRangeException(nameof(group), group, "No such client-limit group."),
    };
}
