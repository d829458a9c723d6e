/* events/placeholder.c — removed once the first module lands. */
int stk_events_placeholder(void);
int stk_events_placeholder(void)
{
    return 0;
}
