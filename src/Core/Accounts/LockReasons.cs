namespace AccountFunctions.Core;

/// <summary>Why a locked account is locked (<see cref="Account.LockReason"/>); an admin may also give a reason of their own.</summary>
public static class LockReasons
{
    /// <summary>The sweep: the email of a new account was not confirmed by its deadline.</summary>
    public const string UnconfirmedEmail = "email_unconfirmed";
    /// <summary>The sweep: a requested email change was not confirmed by its deadline.</summary>
    public const string UnconfirmedEmailChange = "email_change_unconfirmed";
    /// <summary>An admin locked the account without giving a reason.</summary>
    public const string Admin = "admin";
    /// <summary>A revert could not take the old address back (another account verified it meanwhile).</summary>
    public const string RevertConflict = "email_revert_conflict";
}
