namespace Aisoule.Core.Identity;

/// <summary>The logical names of identity's tables (the storage prefix is added by <c>StorageAccount</c>).</summary>
internal static class IdentityTables
{
    public const string Logins = "logins";
    public const string Workspaces = "workspaces";
    public const string Sessions = "sessions";
    public const string ApiKeys = "apikeys";
    public const string ApiKeyHashes = "apikeyhashes";
    public const string LoginFailures = "loginfailures";
    public const string SignupAttempts = "signupattempts";
}
