namespace Aisoule.Functions.Pipeline;

/// <summary>Which credentials an HTTP function accepts.</summary>
public enum Credentials
{
    /// <summary>No credentials: health, login, sign-up, Meta's webhook, the not-found answer.</summary>
    None,

    /// <summary>A logged-in session only (key management, account administration).</summary>
    Session,

    /// <summary>A session or an <c>X-API-Key</c>.</summary>
    SessionOrKey,
}

/// <summary>
/// What an HTTP function needs, declared on the function itself — the one visible place the auth gate reads.
/// A function without it is refused by the gate (and by a test), so nothing is public by accident.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
public sealed class AccessAttribute(Credentials credentials, string? scope = null) : Attribute
{
    public Credentials Credentials { get; } = credentials;

    /// <summary>The permission the caller must hold (spec §2 scopes), if any.</summary>
    public string? Scope { get; } = scope;

    /// <summary>Only owners and admins (<see cref="Aisoule.Core.Identity.Roles.IsManager"/>); others are refused 403 <c>forbidden</c>.</summary>
    public bool ManagersOnly { get; set; }

    /// <summary>
    /// For a GET that may write (or call Meta): run it only once its caller is admitted, as every other method is.
    /// Any other GET may run beside its admission (see <see cref="ApiPipeline"/>), and is held to reading storage.
    /// </summary>
    public bool AwaitAdmission { get; set; }
}
