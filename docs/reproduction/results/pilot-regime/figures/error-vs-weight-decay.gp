set terminal pngcairo noenhanced size 1100,690 font 'Sans,12'
set output 'error-vs-weight-decay.png'
set title 'final test error against weight decay (mean and 95% CI over seeds)'
set xlabel 'weight decay, log scale'
set ylabel 'final test error (%)'
set grid
set key at screen 0.5, screen 0.01 center bottom horizontal Left reverse box maxcols 3 samplen 2
set bmargin 7
set datafile missing 'NaN'
set logscale x 10
set xtics ('0' 2.5e-05, '0.0001' 0.0001, '0.0005' 0.0005, '0.002' 0.002, '0.01' 0.01)
set xrange [1.745084291457049e-05:0.014325955555491468]
set yrange [17.556884080653674:18.528021868091532]
plot 'error-vs-weight-decay.dat' index 0 using ($1*0.9605371288613939):2:3 with yerrorlines linewidth 2 pointtype 5 pointsize 0.8 linecolor rgb '#1f77b4' dashtype 1 title 'sgd', \
     'error-vs-weight-decay.dat' index 1 using ($1*1.0410841704634415):2:3 with yerrorlines linewidth 2 pointtype 7 pointsize 0.8 linecolor rgb '#ff7f0e' dashtype 1 title 'adam'
set terminal svg noenhanced size 1100,690 dynamic font 'Sans,12'
set output 'error-vs-weight-decay.svg'
replot
unset output
