using System.ComponentModel.DataAnnotations;
using System.Net.Mail;

namespace Aisoule.Functions.Http;

/// <summary>A single plain email address of at most 254 characters (what mail servers accept).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class EmailAttribute : ValidationAttribute
{
    public const int MaxLength = 254;

    public EmailAttribute()
        : base("Must be a valid email address of at most 254 characters.")
    {
    }

    public override bool IsValid(object? value) =>
        value is null
        || (value is string text
            && text.Trim() is { Length: > 0 and <= MaxLength } trimmed
            && !trimmed.Any(char.IsWhiteSpace)
            && MailAddress.TryCreate(trimmed, out var address)
            && address.Address == trimmed
            && address.DisplayName.Length == 0);
}
