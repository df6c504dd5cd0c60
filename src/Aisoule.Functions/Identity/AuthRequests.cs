using System.ComponentModel.DataAnnotations;
using Aisoule.Functions.Http;

namespace Aisoule.Functions.Identity;

/// <summary><c>POST /auth/signup</c>.</summary>
public sealed record SignupRequest
{
    [Required(ErrorMessage = "Required.")]
    [Email]
    public string? Email { get; init; }

    [Required(ErrorMessage = "Required.")]
    [StringLength(1024, MinimumLength = 10, ErrorMessage = "Must be 10 to 1024 characters.")]
    public string? Password { get; init; }

    [Required(ErrorMessage = "Required.")]
    [StringLength(100, MinimumLength = 1, ErrorMessage = "Must be 1 to 100 characters.")]
    public string? Name { get; init; }

    [Required(ErrorMessage = "Required.")]
    [StringLength(100, MinimumLength = 1, ErrorMessage = "Must be 1 to 100 characters.")]
    public string? WorkspaceName { get; init; }
}

/// <summary><c>POST /auth/login</c>.</summary>
public sealed record LoginRequest
{
    [Required(ErrorMessage = "Required.")]
    [Email]
    public string? Email { get; init; }

    [Required(ErrorMessage = "Required.")]
    [StringLength(1024, MinimumLength = 1, ErrorMessage = "Must be 1 to 1024 characters.")]
    public string? Password { get; init; }
}

/// <summary><c>POST /keys</c>.</summary>
public sealed record CreateKeyRequest : IValidatableObject
{
    [Required(ErrorMessage = "Required.")]
    [StringLength(100, MinimumLength = 1, ErrorMessage = "Must be 1 to 100 characters.")]
    public string? Name { get; init; }

    public DateTimeOffset? ExpiresAt { get; init; }

    [MaxLength(20, ErrorMessage = "At most 20 scopes.")]
    public IReadOnlyList<string>? Scopes { get; init; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Scopes?.Any(string.IsNullOrWhiteSpace) == true)
        {
            yield return new ValidationResult("Scopes must be non-empty strings.", [nameof(Scopes)]);
        }
    }
}
