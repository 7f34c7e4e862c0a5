set terminal pngcairo noenhanced size 1100,850 font 'Sans,12'
set output 'error-vs-weight-decay.png'
set title 'final test error against weight decay (mean and 95% CI over seeds)'
set xlabel 'weight decay, log scale'
set ylabel 'final test error (%)'
set grid
set key at screen 0.5, screen 0.01 center bottom horizontal Left reverse box maxcols 1 samplen 2
set bmargin 18
set datafile missing 'NaN'
set logscale x 10
set xtics ('0.0003' 0.0003, '0.001' 0.001, '0.003' 0.003, '0.01' 0.01)
set xrange [0.0002430796095044106:0.012341635755119007]
set yrange [9.100242813027194:14.858435546278622]
plot 'error-vs-weight-decay.dat' index 0 using ($1*0.808902715747435):2:3 with yerrorlines linewidth 2 pointtype 5 pointsize 0.8 linecolor rgb '#1f77b4' dashtype 1 title '16 epochs, sgd', \
     'error-vs-weight-decay.dat' index 1 using ($1*0.8479373857376125):2:3 with yerrorlines linewidth 2 pointtype 7 pointsize 0.8 linecolor rgb '#ff7f0e' dashtype 1 title '16 epochs, sgds', \
     'error-vs-weight-decay.dat' index 2 using ($1*0.8888557253354934):2:3 with yerrorlines linewidth 2 pointtype 9 pointsize 0.8 linecolor rgb '#2ca02c' dashtype 1 title '16 epochs, adam', \
     'error-vs-weight-decay.dat' index 3 using ($1*0.931748633508377):2:3 with yerrorlines linewidth 2 pointtype 11 pointsize 0.8 linecolor rgb '#d62728' dashtype 1 title '16 epochs, adamw (weight decay applied: 1e+03 x the one shown)', \
     'error-vs-weight-decay.dat' index 4 using ($1*0.9767113956734065):2:3 with yerrorlines linewidth 2 pointtype 5 pointsize 0.8 linecolor rgb '#9467bd' dashtype 1 title '16 epochs, adams', \
     'error-vs-weight-decay.dat' index 5 using ($1*1.0238438953715052):2:3 with yerrorlines linewidth 2 pointtype 7 pointsize 0.8 linecolor rgb '#8c564b' dashtype 1 title '4 epochs, sgd', \
     'error-vs-weight-decay.dat' index 6 using ($1*1.0732508361559185):2:3 with yerrorlines linewidth 2 pointtype 9 pointsize 0.8 linecolor rgb '#e377c2' dashtype 1 title '4 epochs, sgds', \
     'error-vs-weight-decay.dat' index 7 using ($1*1.1250419741882811):2:3 with yerrorlines linewidth 2 pointtype 11 pointsize 0.8 linecolor rgb '#7f7f7f' dashtype 1 title '4 epochs, adam', \
     'error-vs-weight-decay.dat' index 8 using ($1*1.1793323620589151):2:3 with yerrorlines linewidth 2 pointtype 5 pointsize 0.8 linecolor rgb '#bcbd22' dashtype 1 title '4 epochs, adamw (weight decay applied: 1e+03 x the one shown)', \
     'error-vs-weight-decay.dat' index 9 using ($1*1.2362426043729982):2:3 with yerrorlines linewidth 2 pointtype 7 pointsize 0.8 linecolor rgb '#17becf' dashtype 1 title '4 epochs, adams'
set terminal svg noenhanced size 1100,850 dynamic font 'Sans,12'
set output 'error-vs-weight-decay.svg'
replot
unset output
