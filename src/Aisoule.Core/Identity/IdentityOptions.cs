using System.ComponentModel.DataAnnotations;

namespace Aisoule.Core.Identity;

/// <summary>Settings under <c>Identity:</c>; the first owner comes from <c>AISOULE_OWNER_*</c>.</summary>
public sealed class IdentityOptions
{
    /// <summary><c>POST /auth/signup</c> open to anyone. Unset: on in Development, off elsewhere.</summary>
    public bool? SignupEnabled { get; set; }

    [Range(PasswordHasher.MinimumIterations, 10_000_000)]
    public int PasswordIterations { get; set; } = PasswordHasher.MinimumIterations;

    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")]
    public TimeSpan SessionIdleTimeout { get; set; } = TimeSpan.FromHours(8);

    [Range(typeof(TimeSpan), "00:00:01", "90.00:00:00")]
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromDays(7);

    [Range(1, 1000)]
    public int LoginFailureLimit { get; set; } = 5;

    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan LoginFailureWindow { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Sign-ups one client address may attempt inside <see cref="SignupWindow"/>.</summary>
    [Range(1, 1000)]
    public int SignupAddressLimit { get; set; } = 10;

    /// <summary>Sign-ups the whole service admits inside <see cref="SignupWindow"/>, whatever their address.</summary>
    [Range(1, 1000)]
    public int SignupTotalLimit { get; set; } = 100;

    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan SignupWindow { get; set; } = TimeSpan.FromHours(1);
}
